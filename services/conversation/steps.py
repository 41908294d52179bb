"""Flows made of steps: each step is one small object, and /back walks a history of them.

A `StepFlow` is declared as one table of `Step`s (the idea of python-telegram-bot's
examples/conversationbot.py, where a conversation's states are one dict). A step says how it asks
(`prompt`), how it reads a typed text, a tapped button, a shared contact or location, and what it
does with an accepted answer (`save`). Readers are plain functions that return a `Move` (stay, go
on, say what is wrong) or `Accept(value)`, which hands the value to the step's `save`.

The flow's draft is a typed model (pydantic) over the state's JSON (`ConversationState.data`);
the history of visited steps is kept beside it under "trail". Old rows load: unknown keys are
ignored, missing ones take their defaults, and a row without a trail gets the steps of the path
before its own.

    class Weighing(Draft):
        weight: float | None = None

    class WeighingFlow(StepFlow[Weighing]):
        name, draft = "weighing", Weighing

        def __init__(self) -> None:
            super().__init__(
                Step("weight", ask_weight, text=read_weight, save=keep("weight")),
                Step("confirm", ask_confirm, taps=(Confirm,), tap=read_confirm, save=finish),
            )

    def read_weight(t: Turn, draft: Weighing, text: str) -> Read:
        weight = parse_weight(text)
        return retry(_("Please type a number.")) if weight is None else Accept(weight)
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from services.conversation.buttons import ButtonData, decode
from services.conversation.dialog import Reply, Upload
from services.conversation.flow import Flow, Turn
from services.core.i18n import _

log = logging.getLogger(__name__)

HISTORY = "trail"  # the key of the visited steps in the state's JSON (the name the check used)
NEXT = "\x00next"  # `go(NEXT)`: the step after this one on the person's path


class Draft(BaseModel):
    """A flow's answers so far, over the state's JSON; old shapes load with their defaults."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)


D = TypeVar("D", bound=Draft)


@dataclass
class Move:
    """What a step makes of an input: where the flow goes and what is said first."""

    to: str | None = None  # the step to open; None stays; NEXT is the next one on the path
    say: list[Reply] = field(default_factory=list)
    ask: bool = True  # follow with the prompt of the step now open
    remember: bool = True  # keep the step being left in the history (so /back returns to it)
    done: bool = False  # the save closed (or restarted) the flow itself: nothing more is written


@dataclass(frozen=True)
class Accept:
    """An accepted answer, handed to the step's `save`."""

    value: Any


Read = Move | Accept


def in_a_thread(read: Callable[[Turn, D, str], Read]) -> Callable[[Turn, D, str], Awaitable[Read]]:
    """A text reader that searches (wards, old addresses: up to tens of milliseconds), run in a
    worker thread so that other people's turns go on meanwhile. It must not use the session."""

    async def reader(t: Turn, draft: D, text: str) -> Read:
        return await asyncio.to_thread(read, t, draft, text)

    return reader
# A prompt may wait (a preview that counts its recipients in the database).
Ask = Callable[[Turn, D], list[Reply] | Awaitable[list[Reply]]]
Save = Callable[[Turn, D, Any], Awaitable[Move]]


def use_the_buttons() -> str:
    """Said to a typed text at a step of buttons (the `use_buttons` of the leaders' flows)."""
    return _("Please use the buttons above.")


def go(to: str = NEXT, *say: Reply, remember: bool = True) -> Move:
    """Open another step (by default the next one), after saying `say`."""
    return Move(to, list(say), remember=remember)


def stay(*say: Reply) -> Move:
    """Stay on the step, showing only `say` (e.g. candidates to pick from)."""
    return Move(None, list(say), ask=False)


def retry(error: str) -> Move:
    """Say what is wrong and ask the step again."""
    return Move(None, [Reply(error)])


def done(*say: Reply) -> Move:
    """The save closed the flow (or opened it afresh) itself; `say` is its answer."""
    return Move(say=list(say), ask=False, done=True)


def keep(attribute: str) -> Save[Any]:
    """A save that stores the accepted value in one field of the draft and goes on."""

    async def save(t: Turn, draft: Any, value: Any) -> Move:
        setattr(draft, attribute, value)
        return go()

    return save


@dataclass(frozen=True)
class Step(Generic[D]):
    """One question of a flow: how it asks, how it reads each kind of input, what it saves."""

    name: str
    prompt: Ask[D]
    text: Callable[[Turn, D, str], Read | Awaitable[Read]] | None = None
    # The button kinds this step answers, and how it reads one (None: not one of its buttons).
    taps: tuple[type[ButtonData], ...] = ()
    tap: Callable[[Turn, D, Any], Read | None] | None = None
    contact: Callable[[Turn, D, str, bool], Read | None] | None = None  # phone, is it theirs
    location: Callable[[Turn, D, float, float], Read | None] | None = None
    document: Callable[[Turn, D, Upload], Read | None] | None = None
    save: Save[D] | None = None
    # A sub-step (a list inside a question): /back from it returns to its parent, and moving
    # between the two is not recorded in the history.
    part_of: str | None = None
    # Draft fields used only while the step is open, reset when it is left (forward or back).
    scratch: tuple[str, ...] = ()
    free_text: bool = False  # a notice: a question mark is part of the answer
    # Said to a typed text at a step that reads none.
    use_buttons: Callable[[], str] = field(default=lambda: _("Please tap one of the buttons."))

    @property
    def key(self) -> str:
        """The question this step belongs to, as the history records it."""
        return self.part_of or self.name


class StepFlow(Flow, Generic[D]):
    """A flow run from its table of steps: asking, reading, saving and /back, written once."""

    draft: ClassVar[type[Draft]] = Draft

    def __init__(self, *steps: Step[D]) -> None:
        names = [step.name for step in steps]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a step is declared twice: {names}")
        for step in steps:
            if step.part_of is not None and step.part_of not in names:
                raise ValueError(f"{self.name}.{step.name} is part of an undeclared step")
            if any(name not in self.draft.model_fields for name in step.scratch):
                raise ValueError(f"{self.name}.{step.name} resets a field its draft lacks")
            if bool(step.taps) != (step.tap is not None):
                raise ValueError(f"{self.name}.{step.name} declares button kinds without a reader")
        self.steps: dict[str, Step[D]] = {step.name: step for step in steps}
        kinds = {kind.kind for step in steps for kind in step.taps}
        self.prefixes = tuple(sorted(kinds))

    # ------------------------------------------------------------ what flows declare

    def path(self, t: Turn, draft: D) -> list[str]:
        """The steps this person goes through, in order (default: the table's order, sub-steps
        left out)."""
        return [step.name for step in self.steps.values() if step.part_of is None]

    async def before_first(self, t: Turn, draft: D) -> list[Reply]:
        """/back at the first step."""
        first = await self.ask(t, draft, self._open(t).name)
        return [Reply(_("This is the first question.")), *first]

    def resumed_history(self, t: Turn, draft: D, step: str) -> list[str]:
        """The history of a row written before histories were kept: the path before its step."""
        path = self.path(t, draft)
        key = self.steps[step].key if step in self.steps else step
        return path[: path.index(key)] if key in path else []

    # ------------------------------------------------------------ the draft and the history

    def load(self, t: Turn) -> D:
        """The open draft (a fresh one if the person is in another flow, or the row is unreadable)."""
        data = t.data if t.state is not None and t.state.flow == self.name else {}
        try:
            return self.draft.model_validate(data)  # type: ignore[return-value]
        except ValidationError:
            log.warning("%s: unreadable draft, starting afresh", self.name)
            return self.draft()  # type: ignore[return-value]

    def history(self, t: Turn, draft: D) -> list[str]:
        """The visited steps before the open one, oldest first."""
        assert t.state is not None
        trail = t.data.get(HISTORY)
        if isinstance(trail, list) and all(isinstance(s, str) for s in trail):
            return list(trail)
        return self.resumed_history(t, draft, t.state.step)

    async def start(
        self, t: Turn, step: str, draft: D, history: list[str] | None = None
    ) -> list[Reply]:
        """Open the flow at `step` (the history defaults to the path before it) and ask it."""
        trail = self.resumed_history(t, draft, step) if history is None else history
        await self._write(t, step, draft, trail)
        return await self.ask(t, draft, step)

    async def ask(self, t: Turn, draft: D, step: str) -> list[Reply]:
        """The question of a step."""
        question = self.steps[step].prompt(t, draft)
        return await question if inspect.isawaitable(question) else question

    async def _write(self, t: Turn, step: str, draft: D, history: list[str]) -> None:
        data = draft.model_dump(mode="json", exclude_none=True)
        await t.goto(self.name, step, {**data, HISTORY: history})

    def _open(self, t: Turn) -> Step[D]:
        """The open step (an unknown one, from an older version, restarts at the first)."""
        assert t.state is not None
        step = self.steps.get(t.state.step)
        return step if step is not None else next(iter(self.steps.values()))

    # ------------------------------------------------------------ the router's calls

    def takes_free_text(self, step: str) -> bool:
        """Whether the step reads a free-form notice."""
        return step in self.steps and self.steps[step].free_text

    async def prompt(self, t: Turn) -> list[Reply]:
        """Ask the open step again."""
        return await self.ask(t, self.load(t), self._open(t).name)

    async def on_text(self, t: Turn, text: str) -> list[Reply]:
        """A typed answer; at a step of buttons only, say so and ask again."""
        step, draft = self._open(t), self.load(t)
        if step.text is None:
            return await self._run(t, step, draft, retry(step.use_buttons()))
        read = step.text(t, draft, text)
        return await self._run(t, step, draft, await read if inspect.isawaitable(read) else read)

    async def on_choice(self, t: Turn, data: str) -> list[Reply] | None:
        """A tapped button of the open step; None for anyone else's."""
        step, draft = self._open(t), self.load(t)
        tapped = decode(data)
        if step.tap is None or tapped is None or not isinstance(tapped, step.taps):
            return None
        read = step.tap(t, draft, tapped)
        return None if read is None else await self._run(t, step, draft, read)

    async def on_contact(self, t: Turn, phone: str, is_own: bool) -> list[Reply] | None:
        """A shared contact, where the open step asks for one."""
        step, draft = self._open(t), self.load(t)
        read = step.contact(t, draft, phone, is_own) if step.contact is not None else None
        return None if read is None else await self._run(t, step, draft, read)

    async def on_location(self, t: Turn, lat: float, lon: float) -> list[Reply] | None:
        """A shared location, where the open step asks for one."""
        step, draft = self._open(t), self.load(t)
        read = step.location(t, draft, lat, lon) if step.location is not None else None
        return None if read is None else await self._run(t, step, draft, read)

    async def on_document(self, t: Turn, upload: Upload) -> list[Reply] | None:
        """A file, where the open step asks for one."""
        step, draft = self._open(t), self.load(t)
        read = step.document(t, draft, upload) if step.document is not None else None
        return None if read is None else await self._run(t, step, draft, read)

    async def on_back(self, t: Turn) -> list[Reply]:
        """/back: from a sub-step to its question; else to the last step in the history."""
        step, draft = self._open(t), self.load(t)
        history = self.history(t, draft)
        if step.part_of is not None:
            target = step.part_of
        elif history:
            target = history.pop()
        else:
            return await self.before_first(t, draft)
        self._forget(draft, step)
        await self._write(t, target, draft, history)
        return await self.ask(t, draft, target)

    # ------------------------------------------------------------ moving

    async def _run(self, t: Turn, step: Step[D], draft: D, read: Read) -> list[Reply]:
        """Carry out what a reader made of the input."""
        if isinstance(read, Accept):
            if step.save is None:
                raise TypeError(f"{self.name}.{step.name} accepts an answer but saves none")
            move = await step.save(t, draft, read.value)
        else:
            move = read
        if move.done:
            return move.say
        target = step.name if move.to is None else move.to
        if target == NEXT:
            target = self.following(t, draft, step.name)
        history = self.history(t, draft)
        if target != step.name:
            self._forget(draft, step)
            leaving, entering = step.key, self.steps[target].key
            if entering in history:  # back at an earlier question: what followed it is undone
                history = history[: history.index(entering)]
            elif move.remember and leaving != entering:
                history.append(leaving)
        await self._write(t, target, draft, history)
        return [*move.say, *(await self.ask(t, draft, target) if move.ask else [])]

    def following(self, t: Turn, draft: D, step: str) -> str:
        """The step after `step` on the person's path (answers given so far may change it)."""
        path = self.path(t, draft)
        index = path.index(self.steps[step].key)
        if index + 1 >= len(path):
            raise ValueError(f"{self.name}.{step} is the last step: its save must finish")
        return path[index + 1]

    def _forget(self, draft: D, step: Step[D]) -> None:
        """Reset the fields the step used while open."""
        defaults = type(draft).model_fields
        for name in step.scratch:
            setattr(draft, name, defaults[name].get_default(call_default_factory=True))
