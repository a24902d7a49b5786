"""Russian for flood control (`bot/throttling.py`)."""

RU = {
    "You are tapping faster than I can answer. Please wait a few seconds and try again.": "Вы нажимаете быстрее, чем я успеваю отвечать. Подождите несколько секунд и попробуйте снова.",
}
