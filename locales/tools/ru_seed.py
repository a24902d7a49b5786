"""One-off: Russian translations used to seed locales/ru/LC_MESSAGES/messages.po (kept for reference)."""

RU = {
    "sign up or see your subscription": "подписаться или посмотреть подписку",
    "what I can do": "что я умею",
    "stop the current dialog": "прервать текущий диалог",
    "create and publish an event": "создать и опубликовать мероприятие",
    "events and answers": "мероприятия и ответы",
    "<b>What I can do</b>": "<b>Что я умею</b>",
    "There is nothing to cancel.": "Отменять нечего.",
    "Cancelled. Nothing was changed.": "Отменено. Ничего не изменилось.",
    "This command is available to coordinators only.": "Эта команда доступна только координаторам.",
    "I do not know this command. See /help for the list.": "Я не знаю такой команды. Список команд — /help.",
    "To get events, send /start and answer a few questions with the buttons.":
        "Чтобы получать мероприятия, отправьте /start и ответьте на несколько вопросов кнопками.",
    "I understand buttons and commands. See /help for the list.":
        "Я понимаю кнопки и команды. Список команд — /help.",
    "This button is out of date.": "Эта кнопка устарела.",
    "The title is empty. Please type the title.": "Название пустое. Пожалуйста, введите название.",
    "The title is too long (at most 200 characters). Please type a shorter one.":
        "Название слишком длинное (не больше 200 символов). Пожалуйста, введите покороче.",
    "The description is too long.": "Описание слишком длинное.",
    "This moment has already passed. Please give a future date and time.":
        "Это время уже прошло. Укажите, пожалуйста, дату и время в будущем.",
    "The end must be after the start.": "Окончание должно быть позже начала.",
    "Grades must be from 1 to 11.": "Классы — от 1 до 11.",
    "The number of seats must be positive.": "Число мест должно быть больше нуля.",
    "Choose at least one audience.": "Выберите хотя бы одну аудиторию.",
    "This event cannot be published.": "Это мероприятие нельзя опубликовать.",
    "Something is wrong with the event.": "С мероприятием что-то не так.",
    "New event. What kind is it?": "Новое мероприятие. Какой это вид?",
    "The directory is empty: there is no municipality to publish for yet.":
        "Справочник пуст: пока нет ни одного муниципалитета.",
    "New event. For which municipality?": "Новое мероприятие. Для какого муниципалитета?",
    "This button is not valid. Please choose again.": "Эта кнопка недействительна. Пожалуйста, выберите ещё раз.",
    "Type the title of the event (up to 200 characters).": "Введите название мероприятия (до 200 символов).",
    "When does it start? Type the date and time as DD.MM.YYYY HH:MM, for example 05.12.2026 10:00.":
        "Когда начало? Введите дату и время в виде ДД.ММ.ГГГГ ЧЧ:ММ, например 05.12.2026 10:00.",
    "I could not read this date. Please type it as DD.MM.YYYY HH:MM, e.g. 05.12.2026 10:00.":
        "Не удалось разобрать дату. Введите её в виде ДД.ММ.ГГГГ ЧЧ:ММ, например 05.12.2026 10:00.",
    "For which grades?": "Для каких классов?",
    "Pupils": "Ученики",
    "Parents": "Родители",
    "Pupils and parents": "Ученики и родители",
    "Who is it for?": "Для кого мероприятие?",
    "All schools of the municipality": "Все школы муниципалитета",
    "Which schools?": "Для каких школ?",
    "Skip": "Пропустить",
    "Where does it take place? Type the address or the place, or press «Skip».":
        "Где проходит? Введите адрес или место либо нажмите «Пропустить».",
    "📢 Publish": "📢 Опубликовать",
    "Cancel": "Отменить",
    "Preview of the announcement:": "Так будет выглядеть объявление:",
    "The place is too long (at most 300 characters).": "Место слишком длинное (не больше 300 символов).",
    "Cancelled. Nothing was published.": "Отменено. Ничего не опубликовано.",
    "Published: «{title}». The announcement is going to {count} subscribers.":
        "Опубликовано: «{title}». Объявление уходит подписчикам: {count}.",
    "This button is out of date. Send /new_event to start again.":
        "Эта кнопка устарела. Отправьте /new_event, чтобы начать заново.",
    "Please type the answer as text, or send /cancel to stop.":
        "Пожалуйста, напишите ответ текстом или отправьте /cancel, чтобы прервать.",
    "Please choose one of the buttons above, or send /cancel to stop.":
        "Пожалуйста, выберите вариант кнопкой выше или отправьте /cancel, чтобы прервать.",
    "I am a pupil": "Я ученик",
    "I am a parent": "Я родитель",
    "I am a teacher": "Я педагог",
    "Coordinator": "Координатор",
    "Hello! I tell pupils, parents and teachers about career-guidance events: open days, profession trials, "
    "excursions, «Каникулы с пользой» and more.\n\nTo pick events for you I need to keep your role, your school "
    "(or your child's) and the grade. No names are stored. You can see what is kept with /privacy and delete it "
    "with /forget.\n\nDo you agree to the processing of these data?":
        "Здравствуйте! Я рассказываю ученикам, родителям и педагогам о профориентационных мероприятиях: "
        "днях открытых дверей, профпробах, экскурсиях, «Каникулах с пользой» и других.\n\n"
        "Чтобы подбирать мероприятия, мне нужно хранить вашу роль, школу (вашу или ребёнка) и класс. "
        "Имена не сохраняются. Что хранится, можно посмотреть командой /privacy, удалить — командой /forget.\n\n"
        "Вы согласны на обработку этих данных?",
    "✅ I agree": "✅ Согласен(на)",
    "I do not agree": "Не согласен(на)",
    "Who are you?": "Кто вы?",
    "Choose your municipality:": "Выберите муниципалитет:",
    "Which school does your child attend?": "В какой школе учится ребёнок?",
    "Choose your school:": "Выберите школу:",
    "Which grade is your child in?": "В каком классе ребёнок?",
    "Which grade are you in?": "В каком вы классе?",
    "• pupil of grade {grade}, {school}": "• ученик {grade} класса, {school}",
    "• child in grade {grade}, {school}": "• ребёнок в {grade} классе, {school}",
    "• teacher": "• педагог",
    "• coordinator": "• координатор",
    "Welcome back! You are subscribed as:\n{summary}\n\nNew events will come here. Commands: /help":
        "С возвращением! Вы подписаны как:\n{summary}\n\nНовые мероприятия будут приходить сюда. Команды — /help",
    "Understood, nothing has been saved. Without consent I cannot send you events. If you change your mind, "
    "send /start.":
        "Понятно, ничего не сохранено. Без согласия я не могу присылать мероприятия. "
        "Если передумаете, отправьте /start.",
    "Done! You are registered as a teacher of {school}.": "Готово! Вы зарегистрированы как педагог: {school}.",
    "Done! You will receive events for your child: grade {grade}, {school}.":
        "Готово! Буду присылать мероприятия для вашего ребёнка: {grade} класс, {school}.",
    "Done! You will receive events for grade {grade}, {school}.":
        "Готово! Буду присылать мероприятия для {grade} класса, {school}.",
    "Upcoming events for you: {n}. I am sending them now.": "Ближайших мероприятий для вас: {n}. Сейчас пришлю.",
    "New events will come here.": "Новые мероприятия будут приходить сюда.",
    "Commands: /help": "Команды — /help",
    "This button is out of date. Send /start to begin again.":
        "Эта кнопка устарела. Отправьте /start, чтобы начать заново.",
    "Please choose one of the buttons.": "Пожалуйста, выберите вариант кнопкой.",
    "This event no longer exists.": "Этого мероприятия больше нет.",
    "This event is cancelled or already over; answers are closed.":
        "Мероприятие отменено или уже прошло, ответы закрыты.",
    "Registration for this event is closed.": "Запись на это мероприятие закрыта.",
    "This event has already started.": "Мероприятие уже началось.",
    "This event is not meant for your profile.": "Это мероприятие не для вашего профиля.",
    "This button is not valid.": "Эта кнопка недействительна.",
    "Please register first: send /start.": "Сначала зарегистрируйтесь: отправьте /start.",
    "Saved: {answer}": "Записал: {answer}",
    "No published events yet. Create one with /new_event.":
        "Опубликованных мероприятий пока нет. Создайте первое: /new_event.",
    "<b>Events and answers</b>": "<b>Мероприятия и ответы</b>",
    "Notified: {notified} · Going: {going} · Maybe: {maybe} · Not going: {not_going}":
        "Оповещено: {notified} · Пойду: {going} · Возможно: {maybe} · Не пойду: {not_going}",
    "Statistics are available to coordinators only.": "Статистика доступна только координаторам.",
    "Open day": "День открытых дверей",
    "Holiday programme «Каникулы с пользой»": "«Каникулы с пользой»",
    "Profession trial": "Профессиональная проба",
    "Enterprise excursion": "Экскурсия на предприятие",
    "Fair / festival": "Ярмарка / фестиваль профессий",
    "Online lesson": "Онлайн-урок",
    "Contest / olympiad": "Конкурс / олимпиада",
    "Master class": "Мастер-класс",
    "Consultation": "Консультация",
    "Class hour": "Классный час",
    "Parent meeting": "Родительское собрание",
    "Event": "Мероприятие",
    "Going": "Пойду",
    "Maybe": "Возможно",
    "Not going": "Не пойду",
    "pupils": "ученики",
    "parents": "родители",
    "teachers": "педагоги",
    "grade {grade}": "{grade} класс",
    "grades {low}–{high}": "{low}–{high} классы",
    "For: {who}, {grades}": "Для кого: {who}, {grades}",
    "🗓 When: {when}": "🗓 Когда: {when}",
    "📍 Where: {where}": "📍 Где: {where}",
    "🔗 Online: {url}": "🔗 Онлайн: {url}",
    "🎟 Seats left: {n}": "🎟 Осталось мест: {n}",
    "Your answer: <b>{answer}</b>": "Ваш ответ: <b>{answer}</b>",
    "Events for you arrive here by themselves; answer them with the buttons under each one.":
        "Мероприятия для вас приходят сюда сами; отвечайте кнопками под каждым.",
}
