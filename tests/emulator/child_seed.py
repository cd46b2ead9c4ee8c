"""Seeding parents with known numbers of child Contacts, over REST as any client would.

Shared by the emulator's child-paging tests and the kernel's: each creates Accounts named
after a run tag, gives each its count of Contacts through sObject Collections (200 a
request), and deletes them all afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

__all__ = ["CHILD_COUNTS", "seed_children"]

#: Children per seeded parent: none, one, exactly one batch, one past it, many batches.
CHILD_COUNTS = (0, 1, 200, 201, 1050)


def _create(api: httpx.Client, records: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(records), 200):
        answer = api.post(
            "/composite/sobjects", json={"allOrNone": True, "records": records[start : start + 200]}
        )
        assert answer.status_code == 200, answer.text
        results = answer.json()
        assert all(r["success"] for r in results), results
        ids += [r["id"] for r in results]
    return ids


def _delete(api: httpx.Client, ids: list[str]) -> None:
    for start in range(0, len(ids), 200):
        chunk = ",".join(ids[start : start + 200])
        answer = api.delete("/composite/sobjects", params={"ids": chunk, "allOrNone": "false"})
        assert answer.status_code == 200, answer.text


@contextmanager
def seed_children(
    api: httpx.Client, counts: tuple[int, ...] = CHILD_COUNTS
) -> Iterator[tuple[str, dict[str, int]]]:
    """Yield (tag, {account id: number of contacts}); the Accounts' names start with tag."""
    tag = "ChildPaging-" + secrets.token_hex(4)
    parents = [
        {"attributes": {"type": "Account"}, "Name": f"{tag}-{i:02d}-{n}"}
        for i, n in enumerate(counts)
    ]
    account_ids = _create(api, parents)
    children = [
        {"attributes": {"type": "Contact"}, "LastName": f"{tag}-{k:05d}", "AccountId": account}
        for account, n in zip(account_ids, counts, strict=True)
        for k in range(n)
    ]
    contact_ids: list[str] = []
    try:
        contact_ids = _create(api, children)
        yield tag, dict(zip(account_ids, counts, strict=True))
    finally:
        _delete(api, contact_ids)
        _delete(api, account_ids)
