"""Russian translations of the audience follow-up: role moves and refusals, taking roles away, help."""

RU: dict[str, str] = {
    "You already serve every municipality as a coordinator; this link would narrow that, so it has not been used.": "Вы уже координатор всех муниципалитетов; эта ссылка сузила бы ваши права, поэтому она не использована.",
    "You are already a coordinator of another municipality; a link does not change that, so it has not been used. Ask a coordinator to take your role away first (/roles).": "Вы уже координатор другого муниципалитета; ссылка этого не меняет, поэтому она не использована. Сначала попросите координатора снять с вас роль (/roles).",
    "You are no longer a teacher of {school}: its classes have been removed.": "Вы больше не педагог: {school}; классы этой школы удалены.",
}
