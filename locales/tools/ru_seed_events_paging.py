"""Russian translations of paged lists (attendance, schools, organisations) and related fixes."""

RU = {
    "Page {page} of {pages}": "Страница {page} из {pages}",
    "…and {n} more events this week.": "…и ещё мероприятий на этой неделе: {n}.",
}
