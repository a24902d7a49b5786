"""Russian translations of paged lists (attendance, schools, organisations) and related fixes."""

RU = {
    "Page {page} of {pages}": "Страница {page} из {pages}",
}
