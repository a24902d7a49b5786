"""Russian translations of the audience follow-up: role moves and refusals, taking roles away, help."""

RU: dict[str, str] = {
    "You already serve every municipality as a coordinator; this link would narrow that, so it has not been used.": "Вы уже координатор всех муниципалитетов; эта ссылка сузила бы ваши права, поэтому она не использована.",
    "You are already a coordinator of another municipality; a link does not change that, so it has not been used. Ask a coordinator to take your role away first (/roles).": "Вы уже координатор другого муниципалитета; ссылка этого не меняет, поэтому она не использована. Сначала попросите координатора снять с вас роль (/roles).",
    "You are no longer a teacher of {school}: its classes have been removed.": "Вы больше не педагог: {school}; классы этой школы удалены.",
    "This person no longer holds this role.": "У этого человека уже нет этой роли.",
    "teachers and coordinators, take a role away": "педагоги и координаторы, снять роль",
    "There are no teachers or coordinators in your area yet. Invite them with /invite.": "В вашей зоне пока нет педагогов и координаторов. Пригласите их командой /invite.",
    "<b>Teachers and coordinators</b>": "<b>Педагоги и координаторы</b>",
    "classes: {grades}": "классы: {grades}",
    "{n}. {role} — Telegram id {id}": "{n}. {role} — Telegram id {id}",
    "Take away #{n}": "Снять №{n}",
    "A role taken away is recorded, and the person is told.": "Снятие роли записывается в журнал, человеку придёт сообщение.",
    "Take away the role «{role}» from Telegram id {id}? They will be told.": "Снять роль «{role}» с Telegram id {id}? Человеку придёт сообщение.",
    "Yes, take it away": "Да, снять роль",
    "Nothing was changed.": "Ничего не изменено.",
    "A coordinator has taken away your role: {role}. Your other roles and subscriptions stay as they were.": "Координатор снял с вас роль: {role}. Остальные роли и подписки остались как были.",
    "Done: the role «{role}» has been taken away from Telegram id {id}.": "Готово: роль «{role}» снята с Telegram id {id}.",
}
