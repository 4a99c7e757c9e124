"""Mongo side of account management (``/me``): contact and method updates of the account
document (each one conditional update), the account's sessions, the ``method_flows`` and
``step_ups`` collections (the service's one unit of work holds them: unit_of_work.py)."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, IndexModel, ReturnDocument

from services.profile.adapters.certificate_mongo import FINGERPRINT_FIELD
from services.profile.adapters.mongo import (
    ACCOUNTS,
    FLOW_KEPT_AFTER_EXPIRY_SECONDS,
    SESSIONS,
    Document,
    _Repository,
    session_from_doc,
)
from services.profile.domain.account_management import MethodFlow
from services.profile.domain.models import AuthMethod, Phone, Session
from services.profile.domain.step_up import StepUp

METHOD_FLOWS = "method_flows"
STEP_UPS = "step_ups"
# Removed phones kept on the account (the newest), for the notice of their removal.
FORMER_PHONES_KEPT = 10

ACCOUNT_INDEXES: dict[str, list[IndexModel]] = {
    METHOD_FLOWS: [IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl",
                              expireAfterSeconds=FLOW_KEPT_AFTER_EXPIRY_SECONDS)],
    # Step-ups are read by _id only; kept a while after expiry, then purged.
    STEP_UPS: [IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl",
                          expireAfterSeconds=FLOW_KEPT_AFTER_EXPIRY_SECONDS)],
}


def _method_doc(method: AuthMethod) -> Document:
    return {"id": method.method_id, "type": method.type, "created_at": method.created_at,
            "phone_id": method.phone_id, "details": method.details}


class MongoManagedAccounts(_Repository):
    collection_name = ACCOUNTS

    async def update_contacts(self, account_id: str, changes: dict[str, str | None]) -> bool:
        result = await self._collection.update_one({"_id": account_id}, {"$set": changes},
                                                   session=self._session)
        return result.matched_count == 1

    async def add_phone_method(self, account_id: str, method: AuthMethod, phone: str,
                               now: datetime, max_phones: int) -> bool:
        result = await self._collection.update_one(
            # phones.<max-1> exists ⇔ the account has max_phones phones already.
            {"_id": account_id, f"phones.{max_phones - 1}": {"$exists": False},
             "phones.phone": {"$ne": phone}},
            {"$push": {"phones": {"phone_id": method.phone_id, "phone": phone, "otp": True,
                                  "added_at": now},
                       "auth_methods": _method_doc(method)}},
            session=self._session)
        return result.modified_count == 1

    async def add_certificate_method(self, account_id: str, method: AuthMethod,
                                     level: int) -> bool:
        fingerprint = method.details["fingerprint_sha256"]
        result = await self._collection.update_one(
            {"_id": account_id, FINGERPRINT_FIELD: {"$ne": fingerprint}},
            # FLOWS.md: an account's level is the highest it has proven.
            {"$push": {"auth_methods": _method_doc(method)}, "$max": {"level": level}},
            session=self._session)
        return result.modified_count == 1

    async def remove_method(self, account_id: str, method: AuthMethod,
                            expected_method_ids: list[str]) -> bool:
        # Compare-and-set on the set of method ids (unique): unchanged since it was read.
        # (One equality per id rather than $all: the dev store, SecantusDB, has no $all on
        # a path through an array.)
        query: Document = {"_id": account_id,
                           "auth_methods": {"$size": len(expected_method_ids)},
                           "$and": [{"auth_methods.id": method_id}
                                    for method_id in expected_method_ids]}
        pull: Document = {"auth_methods": {"id": method.method_id}}
        if method.phone_id:
            pull["phones"] = {"phone_id": method.phone_id}
        result = await self._collection.update_one(query, {"$pull": pull},
                                                   session=self._session)
        return result.modified_count == 1

    async def owner_of_fingerprint(self, fingerprint_sha256: str) -> str | None:
        doc = await self._collection.find_one({FINGERPRINT_FIELD: fingerprint_sha256},
                                              {"_id": 1}, session=self._session)
        return str(doc["_id"]) if doc else None

    async def keep_former_phone(self, account_id: str, phone: Phone, now: datetime) -> None:
        await self._collection.update_one(
            {"_id": account_id},
            {"$push": {"former_phones": {"$each": [{"phone_id": phone.phone_id,
                                                    "phone": phone.phone,
                                                    "removed_at": now}],
                                         "$slice": -FORMER_PHONES_KEPT}}},
            session=self._session)

    async def keep_former_email(self, account_id: str, email: str, event_id: str,
                                now: datetime) -> None:
        await self._collection.update_one(
            {"_id": account_id},
            {"$push": {"former_emails": {"$each": [{"email": email, "event_id": event_id,
                                                    "replaced_at": now}],
                                         "$slice": -FORMER_PHONES_KEPT}}},
            session=self._session)

    async def notice_email(self, account_id: str, event_id: str) -> str | None:
        doc = await self._collection.find_one({"_id": account_id},
                                              {"email": 1, "former_emails": 1},
                                              session=self._session)
        if doc is None:
            return None
        replaced = next((e["email"] for e in doc.get("former_emails") or []
                         if e.get("event_id") == event_id), None)
        return replaced or doc.get("email")

    async def phone_numbers(self, account_id: str, phone_ids: list[str]) -> dict[str, str]:
        doc = await self._collection.find_one({"_id": account_id},
                                              {"phones": 1, "former_phones": 1},
                                              session=self._session)
        if doc is None:
            return {}
        known = [*(doc.get("former_phones") or []), *(doc.get("phones") or [])]
        return {p["phone_id"]: p["phone"] for p in known if p.get("phone_id") in phone_ids}


class MongoManagedSessions(_Repository):
    collection_name = SESSIONS

    async def active(self, account_id: str, now: datetime) -> list[Session]:
        # Index account_sessions (account_id, created_at desc).
        cursor = self._collection.find(
            {"account_id": account_id, "revoked_at": None, "idle_expires_at": {"$gt": now},
             "absolute_expires_at": {"$gt": now}}, session=self._session).sort("created_at", -1)
        return [session_from_doc(d) async for d in cursor.limit(200)]

    async def revoke_one(self, account_id: str, session_id: str,
                         now: datetime) -> Session | None:
        doc = await self._collection.find_one_and_update(
            {"_id": session_id, "account_id": account_id, "revoked_at": None,
             "idle_expires_at": {"$gt": now}, "absolute_expires_at": {"$gt": now}},
            {"$set": {"revoked_at": now}}, return_document=ReturnDocument.AFTER,
            session=self._session)
        return session_from_doc(doc) if doc else None

    async def revoke_others(self, account_id: str, keep_session_id: str,
                            now: datetime) -> list[Session]:
        cursor = self._collection.find({"account_id": account_id, "revoked_at": None,
                                        "_id": {"$ne": keep_session_id}},
                                       session=self._session)
        live = [session_from_doc(d) async for d in cursor]
        if live:
            await self._collection.update_many(
                {"_id": {"$in": [s.session_id for s in live]}, "revoked_at": None},
                {"$set": {"revoked_at": now}}, session=self._session)
        return live

    async def mark_reauthenticated(self, session_id: str, at: datetime, level: int) -> bool:
        result = await self._collection.update_one(
            {"_id": session_id, "revoked_at": None},
            {"$set": {"reauthenticated_at": at, "reauthenticated_level": level}},
            session=self._session)
        return result.matched_count == 1


class _FlowMoves(_Repository):
    async def _finish(self, flow_id: str, from_status: str, to_status: str, now: datetime,
                      changes: Document) -> bool:
        """``from_status`` → ``to_status`` (completing only a live flow) with ``changes``."""
        query: Document = {"_id": flow_id, "status": from_status}
        if to_status == "completed":
            query["expires_at"] = {"$gt": now}
        return await self._set_if(query, {"status": to_status}
                                  | {k: v for k, v in changes.items() if v})


class MongoStepUps(_FlowMoves):
    collection_name = STEP_UPS

    async def add(self, flow: StepUp) -> None:
        await self._collection.insert_one(step_up_to_doc(flow), session=self._session)

    async def get(self, flow_id: str) -> StepUp | None:
        doc = await self._collection.find_one({"_id": flow_id}, session=self._session)
        return step_up_from_doc(doc) if doc else None

    async def finish(self, flow_id: str, from_status: str, to_status: str, now: datetime, *,
                     code: str | None = None) -> bool:
        return await self._finish(flow_id, from_status, to_status, now, {"code": code})


class MongoMethodFlows(_FlowMoves):
    collection_name = METHOD_FLOWS

    async def add(self, flow: MethodFlow) -> None:
        await self._collection.insert_one(flow_to_doc(flow), session=self._session)

    async def get(self, flow_id: str) -> MethodFlow | None:
        doc = await self._collection.find_one({"_id": flow_id}, session=self._session)
        return flow_from_doc(doc) if doc else None

    async def finish(self, flow_id: str, from_status: str, to_status: str, now: datetime, *,
                     method_id: str | None = None, code: str | None = None) -> bool:
        return await self._finish(flow_id, from_status, to_status, now,
                                  {"method_id": method_id, "code": code})


def flow_to_doc(flow: MethodFlow) -> Document:
    return {"_id": flow.flow_id, "account_id": flow.account_id, "type": flow.type,
            "status": flow.status, "flow_token_hash": flow.flow_token_hash,
            "created_at": flow.created_at, "expires_at": flow.expires_at, "phone": flow.phone,
            "method_id": flow.method_id, "code": flow.code}


def flow_from_doc(doc: Document) -> MethodFlow:
    return MethodFlow(flow_id=doc["_id"], account_id=doc["account_id"], type=doc["type"],
                      status=doc["status"], flow_token_hash=doc["flow_token_hash"],
                      created_at=doc["created_at"], expires_at=doc["expires_at"],
                      phone=doc.get("phone"), method_id=doc.get("method_id"),
                      code=doc.get("code"))


def step_up_to_doc(flow: StepUp) -> Document:
    return {"_id": flow.flow_id, "account_id": flow.account_id, "session_id": flow.session_id,
            "method": flow.method, "status": flow.status, "created_at": flow.created_at,
            "expires_at": flow.expires_at, "phone": flow.phone, "code": flow.code}


def step_up_from_doc(doc: Document) -> StepUp:
    return StepUp(flow_id=doc["_id"], account_id=doc["account_id"],
                  session_id=doc["session_id"], method=doc["method"], status=doc["status"],
                  created_at=doc["created_at"], expires_at=doc["expires_at"],
                  phone=doc.get("phone"), code=doc.get("code"))
