"""Person-level steps of the audience features: invitations, becoming a teacher, the profile screen."""

from __future__ import annotations

import re

from sandbox import SimUser
from tests.flows import KOSTROMA, press_and_wait_edit, send_and_wait

LINK = re.compile(r"\?start=([A-Za-z0-9_\-]+)")


def labels(user: SimUser) -> list[str]:
    last = user.last
    assert last is not None
    return [b.text for row in last.buttons for b in row]


async def create_invite(
    coordinator: SimUser,
    *,
    role: str = "Педагог (школа)",
    school: str | None = None,
    municipality: str | None = KOSTROMA,
    uses: int = 1,
) -> str:
    """/invite → role → (municipality, for an admin) → (school) → uses; returns the code of the link."""
    await send_and_wait(coordinator, "/invite")
    await press_and_wait_edit(coordinator, role)
    if municipality is not None:
        await press_and_wait_edit(coordinator, municipality)
    if school is not None:
        await press_and_wait_edit(coordinator, school)
    await press_and_wait_edit(coordinator, str(uses))
    text = coordinator.last.text or ""
    found = LINK.search(text)
    assert found, text
    return found.group(1)


async def open_invite(user: SimUser, code: str, consent_label: str = "✅ Согласен(на)") -> str:
    """Open the deep link; agree first if asked. Returns the bot's final answer."""
    text = await send_and_wait(user, f"/start {code}", timeout=10)
    if consent_label in labels(user):
        await press_and_wait_edit(user, consent_label, timeout=10)
        text = user.last.text or ""
    return text


async def become_teacher(
    coordinator: SimUser, user: SimUser, school: str, municipality: str | None = KOSTROMA
) -> None:
    code = await create_invite(coordinator, school=school, municipality=municipality)
    text = await open_invite(user, code)
    assert "Теперь вы педагог" in text, text
