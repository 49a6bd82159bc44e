"""aiogram's Telegram types built when first used, not all at import.

aiogram declares its types with pydantic's `defer_build=True`, then `aiogram/types/__init__.py`
calls `model_rebuild(_types_namespace=...)` on every one of them (about 440), which builds
each type's validator and serializer with the whole tree of types below it: 3.4 s of CPU
(against 0.85 s on demand) and about 100 MB of a bare aiogram bot's 167 MB resident
memory here (`python -m bench.memory`; aiogram issue 1513). A bot uses a few of them:
the Update, the methods it calls and their results.

`install` imports aiogram's types while that call does what `defer_build` asks for: the
namespace aiogram passes is kept as the type's parent namespace
(`__pydantic_parent_namespace__`, the attribute pydantic reads when it rebuilds a model
automatically), and pydantic builds a type the first time it validates or dumps one, from
the same namespace, so the same schema (tests/process/test_types_on_demand.py compares
every type's JSON schema with aiogram's own build). aiogram's methods and its generic
reply, built when defined or parametrised, get the same namespace for the types they
hold. One thing more is changed, after that import: aiogram's types and methods set up
the bot they came from in one step instead of pydantic's chain of post-inits
(`_one_post_init`); a subclass this project declares on one of aiogram's gets both
with `declared_here`. Nothing else is touched. It must run before anything imports
aiogram, so `bot`, `bench` and `tests` import this package first; if aiogram was
imported already it does nothing.

`build_common` builds the types every bot uses at once (the Update, a sent message) so
the first customer does not wait for them; `followup-bot run` calls it at start.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, TypeVar

from pydantic import BaseModel

_Model = TypeVar("_Model", bound=type[BaseModel])


def install() -> None:
    """Import aiogram with its types to be built on demand; nothing if aiogram's types
    were imported already (they are then built as aiogram builds them)."""
    if "aiogram.types" in sys.modules:
        return
    rebuild = BaseModel.__dict__["model_rebuild"]

    def keep_namespace(
        cls: type[BaseModel],
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Any = None,
    ) -> bool | None:
        if _types_namespace is None or force or cls.__pydantic_complete__:
            return rebuild.__func__(  # type: ignore[no-any-return]
                cls,
                force=force,
                raise_errors=raise_errors,
                _parent_namespace_depth=_parent_namespace_depth + (_parent_namespace_depth > 0),
                _types_namespace=_types_namespace,
            )
        cls.__pydantic_parent_namespace__ = _types_namespace
        return None

    BaseModel.model_rebuild = classmethod(keep_namespace)  # type: ignore[assignment,method-assign]
    try:
        import aiogram  # noqa: F401  (the import this module exists for)
    finally:
        BaseModel.model_rebuild = rebuild  # type: ignore[method-assign]
    from aiogram.types import Message

    _lend_namespace(Message.__pydantic_parent_namespace__)
    _one_post_init()


def _lend_namespace(types: Any) -> None:
    """aiogram's other models (its methods, the generic Response of a method's result)
    name Telegram types too, and are built at class creation or parametrisation, when
    the types they hold are not built yet: they get the same namespace, which pydantic
    uses when it builds them (again, on first use, for the ones that could not be built)."""
    pending = [BaseModel]
    while pending:
        for model in pending.pop().__subclasses__():
            pending.append(model)
            own = model.__module__.startswith("aiogram.")
            if own and model.__pydantic_parent_namespace__ is None:
                model.__pydantic_parent_namespace__ = types


def _one_post_init() -> None:
    """Every aiogram object runs one small function after validation instead of a chain.

    aiogram's objects keep the bot they came from (`_bot`, a private attribute set by
    `BotContextController.model_post_init` from the validation context). pydantic wraps a
    class's post-init to set up its private attributes first, and wraps it again on
    every subclass: a message ran four nested wrappers, each looking the private
    attributes up again. Validating a button press's update (its message with the
    keyboard) took 92 µs against 55 µs in one step, a button built in code 6.4 against
    2.6 µs: about 5% of a press in all, the keyboard coming and going. Where a class's
    post-init is only that chain and `_bot` its only private attribute,
    `_bot_from_context` does the same in one step; any other class keeps its own
    (tests/telegram/test_requests.py)."""
    from aiogram.client.context_controller import BotContextController

    original = inspect.unwrap(BotContextController.model_post_init)
    pending: list[type[BaseModel]] = [BotContextController]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        only_bot = model.__private_attributes__.keys() == {"_bot"}
        if only_bot and inspect.unwrap(model.model_post_init) is original:
            model.model_post_init = _bot_from_context  # type: ignore[method-assign]


def declared_here(model: _Model) -> _Model:
    """For a subclass of an aiogram type or method declared in this project, after
    aiogram's import (a class decorator): it is built on first use from the namespace
    aiogram's own are built from, and sets up its bot in one step like them. With aiogram's
    types built eagerly (imported before `install`) there is nothing to lend or change."""
    namespace = next(
        base.__pydantic_parent_namespace__
        for base in model.__mro__
        if issubclass(base, BaseModel) and base.__module__.startswith("aiogram.")
    )
    if namespace is not None:
        model.__pydantic_parent_namespace__ = namespace
    only_bot = model.__private_attributes__.keys() == {"_bot"}
    if only_bot and inspect.unwrap(model.model_post_init) is _bot_from_context:
        model.model_post_init = _bot_from_context  # type: ignore[method-assign]
    return model


def _bot_from_context(self: BaseModel, context: Any, /) -> None:
    """The private attributes as pydantic's set-up and aiogram's post-init leave them (or
    `_bot` added to those a subclass declared later has set up already)."""
    bot = context.get("bot") if context else None
    private = getattr(self, "__pydantic_private__", None)
    if private is None:
        object.__setattr__(self, "__pydantic_private__", {"_bot": bot})
    else:
        private["_bot"] = bot


def build_common() -> None:
    """Build now the types every update and reply needs: a message (the result of most
    methods), then the Update, which takes the message's schema as it is."""
    from aiogram.types import Message, Update

    Message.model_rebuild()
    Update.model_rebuild()
