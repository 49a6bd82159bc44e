"""aiogram's types built on demand (handlers.types_on_demand) are the types aiogram builds:
two fresh interpreters, one importing aiogram as it is, one as the bot does, write the
JSON schema of every Telegram type, every Bot API method and the replies the bot reads;
they must be the same. The on-demand one builds them in the opposite order (the methods
before the types they name), after the common types the bot builds at start, so no
schema depends on which came first."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.processes import CEILING, kill_group

ROOT = Path(__file__).resolve().parents[2]

SCHEMAS = """
import json, sys
on_demand = sys.argv[1] == "on-demand"
if on_demand:
    from handlers import types_on_demand
import aiogram.methods as methods
import aiogram.types as types
from aiogram.methods.base import Response
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

built_at_import = sorted(
    name for name in types.__all__
    if isinstance(getattr(types, name), type)
    and issubclass(getattr(types, name), BaseModel)
    and getattr(types, name).__pydantic_complete__
)


class Everything(GenerateJsonSchema):
    # Some fields are instances of a class (InputFile, Exception): named, not refused.
    def handle_invalid_for_json_schema(self, schema, error_info):
        return {"instance of": repr(schema.get("cls", schema["type"]))}


models = {
    f"{module.__name__}.{name}": getattr(module, name)
    for module in (types, methods)
    for name in module.__all__
    if isinstance(getattr(module, name), type) and issubclass(getattr(module, name), BaseModel)
}
if on_demand:
    types_on_demand.build_common()
replies = {
    f"Response[{result.__name__}]": Response[result]
    for result in (types.Message, types.User, types.Chat, types.ChatFullInfo, types.File)
}
# aiogram's order (its types, then its methods), or the opposite one: methods and
# replies before the types they hold are built, each type list backwards.
names = sorted(models) + sorted(replies)
if on_demand:
    names.reverse()
schemas = {}
for name in names:
    model = models.get(name) or replies[name]
    schemas[name] = model.model_json_schema(schema_generator=Everything)
    if name.startswith("aiogram.methods"):  # a method is sent: dumped, too
        schemas[name + " (sent)"] = model.model_json_schema(
            schema_generator=Everything, mode="serialization"
        )
json.dump({"built_at_import": built_at_import, "schemas": schemas}, sys.stdout, default=repr)
"""


async def schemas(mode: str) -> dict[str, object]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "ignore",
        "-c",
        SCHEMAS,
        mode,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        output, errors = await asyncio.wait_for(process.communicate(), CEILING)
    finally:
        kill_group(process)
    assert process.returncode == 0, errors.decode(errors="replace")[-3000:]
    return json.loads(output)  # type: ignore[no-any-return]


async def test_types_built_on_demand_have_the_schemas_aiogram_builds() -> None:
    as_built, on_demand = await asyncio.gather(schemas("as-aiogram-builds"), schemas("on-demand"))

    # aiogram builds every type at import; on demand none is built until it is used.
    assert len(as_built["built_at_import"]) > 400  # type: ignore[arg-type]
    assert on_demand["built_at_import"] == []

    built, demanded = as_built["schemas"], on_demand["schemas"]
    assert isinstance(built, dict)
    assert isinstance(demanded, dict)
    assert len(built) > 700  # the types, the methods (read and sent), the replies
    assert sorted(demanded) == sorted(built)
    differing = [name for name in built if built[name] != demanded[name]]
    assert differing == []
