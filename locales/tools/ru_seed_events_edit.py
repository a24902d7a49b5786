"""Russian translations of editing a published event in /events: title, description, number of seats."""

RU = {
    "✏️ Title": "✏️ Название",
    "📝 Description": "📝 Описание",
    "🎟 Number of seats": "🎟 Число мест",
    "Now: «{title}». Type the new title (up to 200 characters).": "Сейчас: «{title}». Введите новое название (не больше 200 символов).",
    "Type the new description (up to 3000 characters).": "Введите новое описание (не больше 3000 символов).",
    "no limit": "без ограничений",
    "No limit": "Без ограничений",
    "Seats now: {now}; taken: {going}. Type the new number of seats (a whole number from 1 to {max}) or press «No limit».": "Мест сейчас: {now}; занято: {going}. Введите новое число мест (целое число от 1 до {max}) или нажмите «Без ограничений».",
    "Saved: {n} seats.": "Сохранено: мест — {n}.",
    "Saved: the number of seats is not limited.": "Сохранено: число мест не ограничено.",
    "Seats are offered to the first {n} on the wait list.": "Места предложены первым в листе ожидания: {n} чел.",
    "Already {n} people are going (counting seats offered from the wait list), so there cannot be fewer seats than {n}. Type a number of at least {n}, or send /cancel.": "Уже идут {n} чел. (считая места, предложенные из листа ожидания), поэтому мест не может быть меньше {n}. Введите число не меньше {n} или отправьте /cancel.",
    "Saved. From now on the event's cards show it.": "Сохранено. Теперь это видно на всех карточках мероприятия.",
    "Please type the number of seats as a whole number from 1 to {max}, or «no limit».": "Пожалуйста, введите число мест целым числом от 1 до {max} или «без ограничений».",
    "⏳ Registration deadline": "⏳ Срок записи",
    "Until when can people sign up? Type DD.MM.YYYY HH:MM (not after the start), or press «Until the start».": "До какого момента можно записаться? Введите ДД.ММ.ГГГГ ЧЧ:ММ (не позже начала) или нажмите «До начала».",
    "Until the start": "До начала",
}
