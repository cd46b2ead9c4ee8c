"""SOSL ``search`` and ``parameterizedSearch`` (GET parameters and POST body), over HTTP.

Expected matches are computed here with SOQL LIKE queries of the same org, so the search
must find exactly the records whose searched fields hold the term as a word.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from .test_emu_soql_features import records


def search(api: httpx.Client, sosl: str) -> list[dict[str, Any]]:
    answer = api.get("/search", params={"q": sosl})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"searchRecords"}
    found: list[dict[str, Any]] = body["searchRecords"]
    for record in found:
        kind = record["attributes"]["type"]
        assert re.search(
            rf"/services/data/v\d+\.\d/sobjects/{kind}/\w{{18}}$", record["attributes"]["url"]
        )
    return found


def search_error(api: httpx.Client, sosl: str, path: str = "/search") -> dict[str, Any]:
    answer = api.get(path, params={"q": sosl})
    assert answer.status_code == 400, answer.text
    (error,) = answer.json()
    return dict(error)


def word_matches(text: str | None, word: str) -> bool:
    return (
        text is not None and re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.I) is not None
    )


def test_find_in_name_fields_returning_fields_and_clauses(api: httpx.Client) -> None:
    accounts = records(api, "SELECT Id, Name FROM Account WHERE Name LIKE '%Robotics%'")
    expected = {a["Id"] for a in accounts if word_matches(a["Name"], "robotics")}
    found = search(api, "FIND {robotics} IN NAME FIELDS RETURNING Account(Id, Name)")
    assert expected and {r["Id"] for r in found} == expected
    assert all(set(r) == {"attributes", "Id", "Name"} for r in found)
    limited = search(
        api,
        "FIND {robotics} IN NAME FIELDS RETURNING Account(Name, Industry "
        "WHERE Industry != null ORDER BY Name DESC LIMIT 3)",
    )
    assert len(limited) == 3 and all(r["Industry"] for r in limited)
    assert [r["Name"] for r in limited] == sorted((r["Name"] for r in limited), reverse=True)


def test_find_across_objects_with_operators_and_wildcards(api: httpx.Client) -> None:
    contacts = records(api, "SELECT Id, Name FROM Contact WHERE LastName IN ('Hopper', 'Turing')")
    found = search(api, "FIND {Hopper OR Turing} IN NAME FIELDS RETURNING Contact(Id), Lead(Id)")
    assert {r["Id"] for r in found if r["attributes"]["type"] == "Contact"} == {
        c["Id"] for c in contacts
    }
    both = search(api, "FIND {Grace AND Hopper} IN NAME FIELDS RETURNING Contact(Name)")
    assert all("grace" in r["Name"].lower() and "hopper" in r["Name"].lower() for r in both)
    excluded = search(api, "FIND {Hopper AND NOT Grace} IN NAME FIELDS RETURNING Contact(Name)")
    assert all("grace" not in r["Name"].lower() for r in excluded) and excluded
    prefix = search(api, "FIND {Robot*} IN NAME FIELDS RETURNING Account(Name)")
    assert prefix and all("robot" in r["Name"].lower() for r in prefix)
    phrase = search(api, 'FIND {"Send Quote"} RETURNING Task(Subject)')
    assert phrase and {r["Subject"] for r in phrase} == {"Send Quote"}
    # Without RETURNING: Id only, several object types, custom objects included.
    everything = search(api, "FIND {Rollout*}")
    assert everything and all(set(r) == {"attributes", "Id"} for r in everything)
    assert "Project__c" in {r["attributes"]["type"] for r in everything}


def test_search_limits(api: httpx.Client) -> None:
    limited = search(api, "FIND {Acme} RETURNING Account(Id), Contact(Id) LIMIT 2")
    assert len(limited) == 2
    email = search(api, "FIND {example.com} IN EMAIL FIELDS RETURNING Contact(Email LIMIT 5)")
    assert len(email) == 5 and all("example.com" in r["Email"] for r in email)


def test_search_errors_have_salesforce_shapes(api: httpx.Client) -> None:
    no_braces = search_error(api, "FIND Acme")
    assert no_braces["errorCode"] == "MALFORMED_SEARCH"
    assert "enclosed in braces" in no_braces["message"]
    short = search_error(api, "FIND {a}")
    assert short["errorCode"] == "MALFORMED_SEARCH"
    bad_field = search_error(api, "FIND {Acme} RETURNING Account(Nme)")
    assert bad_field["errorCode"] == "INVALID_FIELD"
    assert "ERROR at Row:1:Column:31" in bad_field["message"]  # the caret is in the SOSL
    bad_object = search_error(api, "FIND {Acme} RETURNING Acount(Id)")
    assert bad_object["errorCode"] == "INVALID_TYPE"
    bad_scope = search_error(api, "FIND {Acme} IN EVERY FIELDS")
    assert bad_scope["errorCode"] == "MALFORMED_SEARCH"
    missing = api.get("/search")
    assert missing.status_code == 400 and missing.json()[0]["errorCode"] == "MALFORMED_SEARCH"


def test_parameterized_search_get_and_post(api: httpx.Client) -> None:
    expected = search(api, "FIND {robotics} IN ALL FIELDS RETURNING Account(Id, Name LIMIT 4)")
    got = api.get(
        "/parameterizedSearch",
        params={
            "q": "robotics",
            "sobject": "Account",
            "Account.fields": "Id,Name",
            "Account.limit": "4",
        },
    )
    assert got.status_code == 200, got.text
    assert got.json()["searchRecords"] == expected
    posted = api.post(
        "/parameterizedSearch",
        json={
            "q": "robotics",
            "fields": ["Id", "Name"],
            "sobjects": [{"name": "Account", "limit": 4}, {"name": "Contact"}],
            "in": "ALL",
            "overallLimit": 10,
        },
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["searchRecords"][:4] == expected
    assert len(posted.json()["searchRecords"]) <= 10
    global_search = api.get("/parameterizedSearch", params={"q": "Rollout"}).json()
    assert global_search["searchRecords"]
    missing = api.get("/parameterizedSearch")
    assert missing.status_code == 400 and missing.json()[0]["errorCode"] == "MISSING_ARGUMENT"
    bad_field = api.post(
        "/parameterizedSearch",
        json={"q": "robotics", "sobjects": [{"name": "Account", "fields": ["Nope"]}]},
    )
    assert bad_field.status_code == 400 and bad_field.json()[0]["errorCode"] == "INVALID_FIELD"
