"""sObject Collections handlers under ``/services/data/vXX.X/composite/sobjects``."""

from __future__ import annotations

from typing import Any

from ._collections import Collections
from ._errors import not_found
from ._web_base import ApiHandler

__all__ = [
    "CollectionsHandler",
    "CollectionsRetrieveHandler",
    "CollectionsUpsertHandler",
    "TreeHandler",
]

#: sObject Collections exist from API version 42.0 on.
FIRST_VERSION = 42.0
#: sObject Tree is documented from Summer '15 (API version 34.0) on.
FIRST_TREE_VERSION = 34.0


class _CollectionsBase(ApiHandler):
    def collections(self, version: str) -> Collections:
        if float(version) < FIRST_VERSION:
            raise not_found()
        return Collections(self.state, version, self.user_id)


class CollectionsHandler(_CollectionsBase):
    """``composite/sobjects``: create (POST), update (PATCH), delete (DELETE ?ids=)."""

    def post(self, version: str) -> None:
        self.send_json(self.collections(version).create(self.json_body()))

    def patch(self, version: str) -> None:
        self.send_json(self.collections(version).update(self.json_body()))

    def delete(self, version: str) -> None:
        results = self.collections(version).delete(
            self.get_query_argument("ids", None), self.get_query_argument("allOrNone", None)
        )
        self.send_json(results)


class CollectionsRetrieveHandler(_CollectionsBase):
    """``composite/sobjects/X``: records by id, ``?ids=&fields=`` (GET) or a JSON body
    ``{"ids": [...], "fields": [...]}`` (POST, for lists too long for a URL)."""

    def get(self, version: str, sobject: str) -> None:
        ids = _split(self.get_query_argument("ids", ""))
        fields = _split(self.get_query_argument("fields", ""))
        self.send_json(self.collections(version).retrieve(sobject, ids, fields))

    def post(self, version: str, sobject: str) -> None:
        body = self.json_body()
        ids = _strings(body.get("ids") if isinstance(body, dict) else None)
        fields = _strings(body.get("fields") if isinstance(body, dict) else None)
        self.send_json(self.collections(version).retrieve(sobject, ids, fields))


class CollectionsUpsertHandler(_CollectionsBase):
    """``composite/sobjects/X/EXTERNAL_ID_FIELD``: upsert (PATCH)."""

    def patch(self, version: str, sobject: str, field_name: str) -> None:
        results = self.collections(version).upsert(sobject, field_name, self.json_body())
        self.send_json(results)


class TreeHandler(ApiHandler):
    """``composite/tree/X``: create nested parent-child record trees (POST)."""

    def post(self, version: str, sobject: str) -> None:
        if float(version) < FIRST_TREE_VERSION:
            raise not_found()
        status, answer = Collections(self.state, version, self.user_id).tree(
            sobject, self.json_body()
        )
        self.send_json(answer, status)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(item) for item in value]
