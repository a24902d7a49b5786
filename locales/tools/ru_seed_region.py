"""Russian translations of region coordinators (an invitation for a whole region)."""

RU = {
    "Coordinator (a whole region)": "Координатор (регион)",
    "For which region?": "Для какого региона?",
    "This region has no municipalities in the directory.": "В справочнике нет муниципалитетов этого региона.",
}
