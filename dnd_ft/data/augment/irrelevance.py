"""Irrelevance: an out-of-character exchange that the game master answers without any tool.

A player question from a small list (rules reminders, table talk) and its answer are added
after the conversation's last turn, asked by the last player who spoke. (Put before the last
player turn instead, it would often split a DM question from the player's answer.) It
teaches the model that not every turn needs a call, even when dice are mentioned.
"""

from __future__ import annotations

import random
from typing import Any

from dnd_ft.data.augment.common import AugmentContext

# (player question, game master answer); {name} is the asking player
EXCHANGES = (
    ("Out of character for a second: can we take a five-minute break after this?",
     "Sure, {name}. Let's finish this moment and then take five; nobody moves until we're back."),
    ("Wait, what does advantage mean again?",
     "You roll two d20s and keep the higher one. Disadvantage is the same, but you keep the lower."),
    ("Quick rules question: can I move, attack, and then move again?",
     "Yes. You can split your movement around your action, as long as the total distance stays within your speed."),
    ("Does a natural 20 always hit?",
     "On an attack roll, yes: a natural 20 always hits and is a critical hit, so you roll the damage dice twice. "
     "It doesn't automatically succeed on ability checks or saving throws, though."),
    ("What's the difference between a bonus action and a reaction?",
     "A bonus action is an extra, smaller action you can take on your own turn if a feature grants one. "
     "A reaction is a single response you can take once per round, even on someone else's turn, like an opportunity attack."),
    ("How many dice would a fireball be, if someone ever cast one?",
     "Eight d6 of fire damage at 3rd level, plus one more d6 for each slot level above 3rd. "
     "I'll roll it when someone actually casts it."),
    ("Thanks for running this tonight, by the way!",
     "My pleasure, {name}! Now, back to the action."),
    ("Sorry, I missed that. Whose turn is it?",
     "No worries, {name}. We're right where we left off; I'll call the next turn as soon as this moment resolves."),
    ("Can I describe my character's reaction without rolling anything?",
     "Absolutely, {name}. Roleplay is free: tell us how your character reacts."),
    ("Is it okay if I grab a snack real quick?",
     "Go ahead, {name}. The dungeon will wait for you."),
)  # fmt: skip


def add_irrelevance(
    record: dict[str, Any], rng: random.Random, ctx: AugmentContext
) -> dict[str, Any] | None:
    messages = record["messages"]
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not users:
        return None
    name = messages[users[-1]].get("name")
    question, answer = rng.choice(EXCHANGES)
    asked: dict[str, Any] = {"role": "user", "content": question}
    if name:
        asked["name"] = name
    reply = answer.format(name=name) if name else answer.replace(", {name}", "")
    messages += [asked, {"role": "assistant", "content": reply}]
    return record
