"""aiogram routers, one per feature; thin: they parse, call a service and reply."""

from aiogram import Router

from handlers import broadcasts, common, new_event, onboarding, rsvp, stats

FEATURES = (onboarding.router, new_event.router, rsvp.router, stats.router, broadcasts.router, common.router)


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
