"""Peer clients writing through the emulator, unchanged: simple-salesforce's Bulk API 2.0
ingest (``sf.bulk2``), its REST sObject calls, and sObject Collections and sObject Tree
through ``restful``.

Each test sends what the peer sends and checks what the peer hands its user: counts, the
result files it downloads, the exceptions it raises. Two other peers were run by hand
against the emulator (they are Node.js programs, not dependencies of this repository):
jsforce (``sobject().create/update/upsert/destroy`` on collections, ``find().update()``,
``bulk2.loadAndWaitForResults`` and its job API) and the Salesforce CLI (``sf data
import/upsert/update/delete bulk`` and their ``resume``, ``bulk results``, ``create/
update/get/delete record``, ``import tree`` with files and a plan, ``export tree``). What
they showed is pinned with raw requests in ``test_emu_collections`` (sObject Tree) and
``test_emu_ingest`` (idLookup relationship columns, number ranges).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceResourceNotFound,
)

UNKNOWN_ID = "001000000000000AAA"  # well formed, no such record


def rows(text: str, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def account_ids(sf: Any, count: int, where: str = "") -> list[str]:
    soql = f"SELECT Id FROM Account {where} ORDER BY Name LIMIT {count}"
    ids = [record["Id"] for record in sf.query(soql)["records"]]
    assert len(ids) == count
    return ids


def test_bulk2_update_reports_each_row_from_records_and_from_a_file(
    sf: Any, tmp_path: Path
) -> None:
    first, second = account_ids(sf, 2, "WHERE Rating != 'Hot'")
    jobs = sf.bulk2.Account.update(
        records=[{"Id": first, "Rating": "Hot"}, {"Id": UNKNOWN_ID, "Rating": "Hot"}], wait=0.05
    )
    assert [(j["numberRecordsProcessed"], j["numberRecordsFailed"]) for j in jobs] == [(2, 1)]
    job_id = jobs[0]["job_id"]
    good = rows(sf.bulk2.Account.get_successful_records(job_id))
    assert [(r["sf__Id"], r["sf__Created"], r["Id"]) for r in good] == [(first, "false", first)]
    failed = rows(sf.bulk2.Account.get_failed_records(job_id))
    assert [(r["sf__Id"], r["Id"]) for r in failed] == [("", UNKNOWN_ID)]
    assert failed[0]["sf__Error"] == "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"
    everything = sf.bulk2.Account.get_all_ingest_records(job_id)
    assert len(everything["successfulRecords"]) == len(everything["failedRecords"]) == 1
    assert everything["unprocessedRecords"] == []

    data = tmp_path / "update.csv"
    data.write_text(f"Id,Rating,Description\n{second},Hot,#N/A\n", encoding="utf-8")
    assert sf.bulk2.Account.update(csv_file=str(data), wait=0.05)[0]["numberRecordsFailed"] == 0
    record = sf.Account.get(second)
    assert record["Rating"] == "Hot" and record["Description"] is None


def test_bulk2_delete_then_delete_again_and_hard_delete(sf: Any, tmp_path: Path) -> None:
    ids = account_ids(sf, 2, "WHERE Name LIKE 'A%'")
    deleted = sf.bulk2.Account.delete(records=[{"Id": ids[0]}, {"Id": "bogus"}], wait=0.05)
    assert deleted[0]["numberRecordsFailed"] == 1
    job_id = deleted[0]["job_id"]
    good = rows(sf.bulk2.Account.get_successful_records(job_id))
    assert [(r["sf__Id"], r["sf__Created"]) for r in good] == [(ids[0], "false")]
    assert rows(sf.bulk2.Account.get_failed_records(job_id))[0]["sf__Error"].startswith(
        "MALFORMED_ID:"
    )

    data = tmp_path / "ids.csv"
    data.write_text(f"Id\n{ids[0]}\n", encoding="utf-8")
    again = sf.bulk2.Account.delete(csv_file=str(data), wait=0.05)
    failed = rows(sf.bulk2.Account.get_failed_records(again[0]["job_id"]))
    assert [(r["sf__Id"], r["sf__Error"]) for r in failed] == [
        (ids[0], "ENTITY_IS_DELETED:entity is deleted:--")
    ]
    hard = sf.bulk2.Account.hard_delete(records=[{"Id": ids[1]}], wait=0.05)
    assert hard[0]["numberRecordsProcessed"] == 1 and hard[0]["numberRecordsFailed"] == 0
    live = sf.query_all(f"SELECT Id FROM Account WHERE Id IN ('{ids[0]}', '{ids[1]}')")
    assert live["totalSize"] == 0


@pytest.mark.parametrize(
    ("delimiter", "char"),
    [("PIPE", "|"), ("TAB", "\t"), ("SEMICOLON", ";"), ("CARET", "^"), ("BACKQUOTE", "`")],
)
def test_bulk2_insert_in_every_column_delimiter(sf: Any, delimiter: str, char: str) -> None:
    name = f"Peer Delimiter {delimiter}, with a comma"
    jobs = sf.bulk2.Account.insert(
        records=[{"Name": name, "Industry": "Media"}], column_delimiter=delimiter, wait=0.05
    )
    assert jobs[0]["numberRecordsFailed"] == 0
    text = sf.bulk2.Account.get_successful_records(jobs[0]["job_id"])
    header = text.splitlines()[0].split(char)
    assert header[:2] == ['"sf__Id"', '"sf__Created"']
    assert sorted(header[2:]) == ['"Industry"', '"Name"']  # the order simple-salesforce sent
    assert [r["Name"] for r in rows(text, char)] == [name]


def test_bulk2_crlf_job_answers_in_crlf(sf: Any, tmp_path: Path) -> None:
    """simple-salesforce re-writes a file's rows in the job's line ending, so a Windows
    file loads as a CRLF job (and so does its own CSV of records)."""
    jobs = sf.bulk2.Account.insert(
        records=[{"Name": "Peer CRLF One"}, {"Name": "Peer CRLF Two"}],
        line_ending="CRLF",
        column_delimiter="TAB",
        wait=0.05,
    )
    text = sf.bulk2.Account.get_successful_records(jobs[0]["job_id"])
    assert text.count("\r\n") == 3 and "\n" not in text.replace("\r\n", "")
    windows = tmp_path / "windows.csv"
    windows.write_bytes(b"Name,Industry\r\nPeer Windows File,Media\r\n")
    done = sf.bulk2.Account.insert(csv_file=str(windows), line_ending="CRLF", wait=0.05)
    text = sf.bulk2.Account.get_successful_records(done[0]["job_id"])
    assert [r["Name"] for r in rows(text)] == ["Peer Windows File"] and text.endswith("\r\n")


def test_bulk2_batch_size_runs_one_job_per_part(sf: Any) -> None:
    records = [{"Name": f"Peer Batch {i}", "External_Id__c": f"PEER-BATCH-{i}"} for i in range(5)]
    jobs = sf.bulk2.Account.upsert(
        records=records, external_id_field="External_Id__c", batch_size=2, wait=0.05
    )
    assert [j["numberRecordsProcessed"] for j in jobs] == [2, 2, 1]
    assert len({j["job_id"] for j in jobs}) == 3
    again = sf.bulk2.Account.upsert(
        records=records, external_id_field="External_Id__c", batch_size=5, wait=0.05
    )
    created = {
        r["sf__Created"] for r in rows(sf.bulk2.Account.get_successful_records(again[0]["job_id"]))
    }
    assert created == {"false"}


def test_bulk2_upsert_by_id(sf: Any) -> None:
    (existing,) = account_ids(sf, 1, "WHERE Rating != 'Cold'")
    jobs = sf.bulk2.Account.upsert(
        records=[{"Id": existing, "Rating": "Cold"}, {"Id": "", "Name": "Peer Upsert By Id"}],
        external_id_field="Id",
        wait=0.05,
    )
    good = rows(sf.bulk2.Account.get_successful_records(jobs[0]["job_id"]))
    assert sorted(r["sf__Created"] for r in good) == ["false", "true"]
    assert sf.Account.get(existing)["Rating"] == "Cold"


def test_bulk2_aborted_job_leaves_its_upload_unprocessed(sf: Any) -> None:
    client = sf.bulk2.Account._client
    job = client.create_job("insert")
    client.upload_job_data(job["id"], "Name\nPeer Aborted\n")
    assert client.abort_job(job["id"], False)["state"] == "Aborted"
    assert sf.bulk2.Account.get_unprocessed_records(job["id"]) == "Name\nPeer Aborted\n"
    assert rows(sf.bulk2.Account.get_successful_records(job["id"])) == []
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Peer Aborted'")["totalSize"] == 0


def test_bulk2_byte_order_mark_is_part_of_the_first_column_name(sf: Any, tmp_path: Path) -> None:
    """As Salesforce reads it (forcedotcom/cli#720): the CLI strips the mark, the API not."""
    excel = tmp_path / "excel.csv"
    excel.write_text("Name,Industry\nPeer BOM,Media\n", encoding="utf-8-sig")
    with pytest.raises(SalesforceOperationError, match="Field name not found : \ufeffName"):
        sf.bulk2.Account.insert(csv_file=str(excel), wait=0.05)


def test_rest_record_errors_as_simple_salesforce_raises_them(sf: Any) -> None:
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Account.create({"Industry": "Media"})
    assert missing.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert missing.value.content[0]["fields"] == ["Name"]
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.Account.create({"Name": "x", "Nope__c": 1})
    assert unknown.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.update(UNKNOWN_ID, {"Name": "y"})
    created = sf.Account.create({"Name": "Peer Deleted Twice"})
    assert sf.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as again:
        sf.Account.delete(created["id"])
    assert again.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_collections_upsert_and_delete_through_restful(sf: Any) -> None:
    def account(**fields: Any) -> dict[str, Any]:
        return {"attributes": {"type": "Account"}, **fields}

    upserted = sf.restful(
        "composite/sobjects/Account/External_Id__c",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                account(External_Id__c="PEER-COLL-1", Name="Peer Collection Upsert"),
                account(External_Id__c="PEER-COLL-1", Rating="Hot"),
                account(Name="Peer No Key"),
            ],
        },
    )
    assert [(r["success"], r.get("created")) for r in upserted] == [
        (False, False),
        (False, False),
        (False, False),
    ]
    assert [r["errors"][0]["statusCode"] for r in upserted] == [
        "DUPLICATE_VALUE",
        "DUPLICATE_VALUE",
        "MISSING_ARGUMENT",
    ]
    created = sf.restful(
        "composite/sobjects/Account/External_Id__c",
        method="PATCH",
        json={"records": [account(External_Id__c="PEER-COLL-1", Name="Peer Collection")]},
    )
    assert created[0]["success"] is True and created[0]["created"] is True
    record_id = created[0]["id"]
    rolled_back = sf.restful(
        "composite/sobjects",
        method="DELETE",
        params={"ids": f"{record_id},{UNKNOWN_ID}", "allOrNone": "true"},
    )
    assert rolled_back[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert rolled_back[1]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert sf.Account.get(record_id)["Name"] == "Peer Collection"
    deleted = sf.restful(
        "composite/sobjects", method="DELETE", params={"ids": f"{record_id},{UNKNOWN_ID}"}
    )
    assert [r["success"] for r in deleted] == [True, False]


def test_tree_import_as_the_salesforce_cli_sends_it(sf: Any) -> None:
    """``sf data import tree --files``: POST composite/tree/Account, roots then children."""
    tree = {
        "records": [
            {
                "attributes": {"type": "Account", "referenceId": "AccountRef1"},
                "Name": "Peer Tree",
                "Contacts": {
                    "records": [
                        {
                            "attributes": {"type": "Contact", "referenceId": "ContactRef1"},
                            "LastName": "Peer Tree Contact",
                        }
                    ]
                },
            }
        ]
    }
    answer = sf.restful("composite/tree/Account", method="POST", json=tree)
    assert answer["hasErrors"] is False
    ids = {r["referenceId"]: r["id"] for r in answer["results"]}
    assert list(ids) == ["AccountRef1", "ContactRef1"]
    contact = sf.Contact.get(ids["ContactRef1"])
    assert contact["AccountId"] == ids["AccountRef1"]
    tree["records"][0]["Contacts"]["records"][0]["Email"] = "no email"
    with pytest.raises(SalesforceMalformedRequest) as failed:
        sf.restful("composite/tree/Account", method="POST", json=tree)
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Peer Tree'")["totalSize"] == 1
    assert failed.value.content == {
        "hasErrors": True,
        "results": [
            {
                "referenceId": "ContactRef1",
                "errors": [
                    {
                        "statusCode": "INVALID_EMAIL_ADDRESS",
                        "message": "Email: invalid email address: no email",
                        "fields": ["Email"],
                    }
                ],
            }
        ],
    }
