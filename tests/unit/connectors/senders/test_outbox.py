"""The development outbox: one JSON object a line (:mod:`connectors.senders.outbox`)."""

import json
import logging
from datetime import datetime

from connectors.senders.base import Message
from connectors.senders.outbox import ConsoleSender, OutboxSender


def _lines(path):
    return path.read_text(encoding="utf-8").split("\n")


def test_each_message_is_one_json_line_appended(tmp_path):
    path = tmp_path / "nested" / "dir" / "outbox.jsonl"  # the directories are created
    sender = OutboxSender(path)
    sender.send(Message(channel="sms", to="+33612345678", body="Votre code : 123456"))
    sender.send(Message(channel="email", to="jeanne@mairie.example", subject="Réinitialisation",
                        body="Bonjour,\nvoici le lien.\n", reference="ref-1"))
    lines = _lines(path)
    assert lines[-1] == "" and len(lines) == 3  # every record ends with a newline, none spans two lines
    first, second = (json.loads(line) for line in lines[:2])
    assert {k: v for k, v in first.items() if k != "at"} == {
        "channel": "sms", "to": "+33612345678", "subject": None, "body": "Votre code : 123456"}
    assert second["subject"] == "Réinitialisation" and second["body"] == "Bonjour,\nvoici le lien.\n"
    assert set(second) == {"at", "channel", "to", "subject", "body"}  # the reference is not written
    assert datetime.fromisoformat(first["at"]).utcoffset().total_seconds() == 0


def test_text_is_written_as_utf8_not_escaped(tmp_path):
    path = tmp_path / "outbox.jsonl"
    OutboxSender(path).send(Message(channel="sms", to="+33612345678", body="Code reçu à 12h"))
    assert "reçu à" in path.read_text(encoding="utf-8")


def test_an_existing_outbox_is_appended_to_not_replaced(tmp_path):
    path = tmp_path / "outbox.jsonl"
    path.write_text('{"channel": "sms", "to": "+33600000000", "subject": null, "body": "old", "at": "x"}\n',
                    encoding="utf-8")
    OutboxSender(path).send(Message(channel="voice", to="+33556111414", body="1, 2, 3"))
    OutboxSender(path).send(Message(channel="voice", to="+33556111414", body="4, 5, 6"))
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["body"] for r in records] == ["old", "1, 2, 3", "4, 5, 6"]


def test_development_senders_say_so_when_asked_once(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="idp.messages"):
        outbox = OutboxSender(tmp_path / "outbox.jsonl")
        assert "DEVELOPMENT SENDER" not in caplog.text  # not at every `idp` command
        outbox.warn()
        ConsoleSender().send(Message(channel="sms", to="+33612345678", body="Votre code : 654321", subject="S"))
    text = caplog.text
    assert "DEVELOPMENT SENDER" in text and str(tmp_path / "outbox.jsonl") in text
    assert "message sms to +33612345678 [S]: Votre code : 654321" in text
