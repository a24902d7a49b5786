"""aiogram routers, one per feature; thin: they parse, call a service and reply."""

from aiogram import Router

from handlers import (
    attendance,
    broadcasts,
    common,
    directory_import,
    event_import,
    export,
    invitations,
    manage_events,
    my_events,
    new_event,
    onboarding,
    privacy,
    profile,
    rsvp,
    settings,
    stats,
)

FEATURES = (
    onboarding.router,
    new_event.router,
    manage_events.router,
    attendance.router,
    event_import.router,
    my_events.router,
    rsvp.router,
    stats.router,
    invitations.router,
    profile.router,
    settings.router,
    privacy.router,
    directory_import.router,
    export.router,
    broadcasts.router,
    common.router,
)


def build_router() -> Router:
    """A fresh root over the feature routers; the catch-all replies of `common` come last.

    Feature routers are module-level (as in aiogram's examples); a process that builds the bot more
    than once (tests, a restart in place) re-attaches them to the new root.
    """
    root = Router(name="root")
    for feature in FEATURES:
        feature._parent_router = None
    root.include_routers(*FEATURES)
    return root
