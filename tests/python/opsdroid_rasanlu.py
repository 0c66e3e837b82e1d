"""Drives opsdroid's Rasa NLU parser (opsdroid.parsers.rasanlu, PyPI opsdroid==0.31.0) against
a running `nlu serve`, as opsdroid does at start and for each chat message:

1. rasa_usable: GET /version, minimum_compatible_version >= 2;
2. train_rasanlu: POST /model/train with the skills' intents.yml (application/x-yaml), the
   model's file name from Content-Disposition, PUT /model {"model_file": "models/<file>"}
   (204), GET /status whose model_file names it, then a warm-up parse of "";
3. parse_rasanlu: POST /model/parse for each message, matched to the skill whose
   @match_rasanlu intent the server names, with the confidence as the score and the
   entities copied onto the message.

Usage: python opsdroid_rasanlu.py URL TOKEN. Prints one JSON line per message:
{"text", "skills": [names], "score", "entities": {name: value}}; exits 1 on any failure.
"""

import asyncio
import gettext
import json
import sys

# as `opsdroid start` does (opsdroid/cli/start.py): the parsers log through _()
gettext.install("opsdroid")

from opsdroid.events import Message
from opsdroid.matchers import match_rasanlu
from opsdroid.parsers import rasanlu

# the skill's intents.yml, as opsdroid's loader reads it (one skill module, several skills)
INTENTS = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
    - good morning
    - hey bot
    - hello, how are you
    - 你好
    - 早上好
    - 嗨，机器人
    - 您好
- intent: order_coffee
  examples: |
    - I'd like a [latte](drink)
    - get me an [espresso](drink) please
    - one [cappuccino](drink) please
    - can I have a [flat white](drink)
    - order a [mocha](drink) for me
    - 来一杯[拿铁](drink)
    - 我要一杯[美式](drink)
    - 帮我点一杯[摩卡](drink)
    - 给我一杯[卡布奇诺](drink)
- intent: weather
  examples: |
    - what's the weather like
    - will it rain tomorrow
    - is it sunny today
    - weather forecast please
    - how hot is it outside
    - 今天天气怎么样
    - 明天会下雨吗
    - 外面冷不冷
    - 天气预报
- intent: out_of_scope
  examples: |
    - book a flight to paris
    - what is the capital of france
    - play some jazz
    - tell me a joke about cats
    - how do I file my taxes
    - 帮我订一张去巴黎的机票
    - 法国的首都是哪里
    - 放一首爵士乐
    - 讲个关于猫的笑话
"""


@match_rasanlu("greet")
async def hello(opsdroid, config, message):
    """A skill: answers greetings."""


@match_rasanlu("order_coffee")
async def coffee(opsdroid, config, message):
    """A skill: orders coffee."""


@match_rasanlu("weather")
async def weather(opsdroid, config, message):
    """A skill: tells the weather."""


SKILLS = [hello, coffee, weather]
for skill in SKILLS:
    skill.config = {"name": skill.__name__}

MESSAGES = [
    "hello there!",
    "good morning, bot",
    "could I get a latte please",
    "is it going to rain today?",
    "你好呀",
    "我想要一杯拿铁",
    "明天天气怎么样",
    "book me a flight to tokyo",
    "帮我订一张去东京的机票",
]


async def main(url, token):
    config = {"url": url, "token": token, "models-path": "models", "min-score": 0.6}
    if not await rasanlu.rasa_usable(config):
        print("rasa_usable: False", file=sys.stderr)
        return 1
    # what opsdroid's loader passes: one entry per skill module, with its intents.yml
    modules = [{"module": None, "config": {"name": "cafe"}, "intents": INTENTS}]
    if not await rasanlu.train_rasanlu(config, modules):
        print("train_rasanlu: False", file=sys.stderr)
        return 1
    print(json.dumps({"model_filename": config["model_filename"]}), flush=True)
    for text in MESSAGES:
        message = Message(text=text, user="alice", target="#cafe", connector=None)
        matched = await rasanlu.parse_rasanlu(None, SKILLS, message, config)
        print(
            json.dumps(
                {
                    "text": text,
                    "skills": [m["skill"].config["name"] for m in matched],
                    "score": matched[0]["score"] if matched else None,
                    "entities": {k: v["value"] for k, v in message.entities.items()},
                },
                ensure_ascii=False,
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
