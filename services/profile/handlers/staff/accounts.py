"""Use cases of operator-made accounts (``dvcid admin``) and of the agent's session.

- ``admin_create_agent`` / ``admin_create_agency``: the account, with an issued username and
  the hash of a one-time initial password made by the operator's tool (changed at the first
  login, then the OTP, as for a post-office citizen).
- ``agent_session``: the gateway's question "is this session a recent one of an enabled
  post-office agent, and at which office?" before it lets a counter registration through
  (logged in or stepped up within 15 minutes, else ``reauthentication_required``).
- ``admin_disable_agent`` / ``admin_enable_agent``: an operator stops a clerk (left the job,
  a lost laptop, suspicious registrations): the account can no longer log in, its sessions
  end at once, and its counter calls are refused; enabling undoes it.

These accounts publish no AccountCreated: registration's duplicate projection is about people
and enterprises registering, and an agent's staff account must not stop the agent's own
citizen registration. The log says what was created, never the password hash.
"""

from __future__ import annotations

from collections.abc import Callable

from services.profile.domain.errors import (
    AccountDisabled,
    AccountExists,
    Forbidden,
    NotFound,
    Unauthenticated,
)
from services.profile.domain.models import Account
from services.profile.domain.ports import Store, UnitOfWork
from services.profile.domain.staff import (
    agency_account,
    agent_account,
    agent_office,
    agent_username,
    ensure_recent_agent_session,
    new_agency,
    new_agent,
    new_agent_username,
)
from services.profile.handlers.sessions.sessions import Sessions
from shared.clock import Clock
from shared.contracts.fields import Office
from shared.contracts.profile import (
    AgentRef,
    AgentSession,
    AgentState,
    CreateAgency,
    CreateAgent,
    CreatedStaffAccount,
    SessionRef,
)
from shared.events import SessionRevoked, new_event
from shared.logging import get_logger
from shared.phones import mask_phone

log = get_logger(__name__)

# Eight random digits: a collision is rare; each is checked, a few draws always suffice.
_USERNAME_DRAWS = 5


class StaffAccounts:
    def __init__(self, *, uow: Callable[[], UnitOfWork], store: Store, clock: Clock,
                 sessions: Sessions, new_id: Callable[[], str],
                 new_username: Callable[[], str] = new_agent_username) -> None:
        self._uow = uow
        self._store = store
        self._clock = clock
        self._sessions = sessions
        self._new_id = new_id
        self._new_username = new_username

    async def admin_create_agent(self, request: CreateAgent) -> CreatedStaffAccount:
        command = new_agent(id_number=request.id_number, full_name=request.full_name,
                            phone=request.phone, office=request.office,
                            office_code=request.office_code,
                            password_hash=request.password_hash)
        username = await self._free_username()
        account = agent_account(command, account_id=self._new_id(), username=username,
                                now=self._clock(), new_id=self._new_id)
        await self._add(account)
        log.info("agent account created", account_id=account.account_id,
                 office=account.organisation.get("name"))
        return self._created(account)

    async def admin_create_agency(self, request: CreateAgency) -> CreatedStaffAccount:
        command = new_agency(code=request.code, name=request.name, phone=request.phone,
                             email=request.email, user_id_number=request.user_id_number,
                             user_full_name=request.user_full_name,
                             password_hash=request.password_hash)
        if await self._store.accounts.find_by_login_name(command.code) is not None:
            raise AccountExists("Mã cơ quan này đã có tài khoản.")
        account = agency_account(command, account_id=self._new_id(), now=self._clock(),
                                 new_id=self._new_id)
        await self._add(account)
        log.info("agency account created", account_id=account.account_id, code=command.code)
        return self._created(account)

    async def agent_session(self, request: SessionRef) -> AgentSession:
        """The live session's agent and office; ``forbidden`` for any other account,
        ``account_disabled`` for a disabled agent, ``reauthentication_required`` for a
        session neither opened nor stepped up in the last 15 minutes."""
        session = await self._sessions.session(request.session_token)
        account = await self._store.accounts.get(session.account_id)
        if account is None:
            raise Unauthenticated()
        office = agent_office(account)
        if office is None:
            raise Forbidden("Chỉ nhân viên bưu điện được đăng ký tài khoản tại quầy.")
        if account.disabled_at is not None:
            raise AccountDisabled()
        ensure_recent_agent_session(session, self._clock())
        return AgentSession(account_id=session.account_id, session_id=session.session_id,
                            level=session.level, office=Office.model_validate(office))

    async def admin_disable_agent(self, request: AgentRef) -> AgentState:
        account = await self._agent(request.username)
        now = self._clock()
        async with self._uow() as uow:
            await uow.accounts.set_disabled(account.account_id, now)
            # Whoever holds one of the agent's sessions (the counter PC, a thief) is out now.
            ended = await uow.sessions.revoke_all(account.account_id, now)
            for session in ended:
                uow.emit(new_event(SessionRevoked(account_id=account.account_id,
                                                  session_id=session.session_id,
                                                  reason="agent_disabled"),
                                   correlation_id=account.account_id, occurred_at=now))
            await uow.commit()
        log.info("agent account disabled", account_id=account.account_id,
                 sessions_ended=len(ended))
        return AgentState(account_id=account.account_id, username=str(account.username),
                          disabled=True, sessions_ended=len(ended))

    async def admin_enable_agent(self, request: AgentRef) -> AgentState:
        account = await self._agent(request.username)
        async with self._uow() as uow:
            await uow.accounts.set_disabled(account.account_id, None)
            await uow.commit()
        log.info("agent account enabled", account_id=account.account_id)
        return AgentState(account_id=account.account_id, username=str(account.username),
                          disabled=False)

    async def _agent(self, username: str) -> Account:
        account = await self._store.accounts.find_by_login_name(agent_username(username))
        if account is None or agent_office(account) is None:
            raise NotFound("Không có tài khoản nhân viên bưu điện với tên đăng nhập này.")
        return account

    async def _free_username(self) -> str:
        for _ in range(_USERNAME_DRAWS):
            username = self._new_username()
            if await self._store.accounts.find_by_login_name(username) is None:
                return username
        raise RuntimeError("no free agent username after several draws")

    async def _add(self, account: Account) -> None:
        # The staff key (agent:<id> / agency:<code>) is unique: one agent account a person.
        if await self._store.accounts.find_by_key(account.index_key) is not None:
            raise AccountExists()
        async with self._uow() as uow:
            # The unique indexes (staff key, username) are the last guard against a twin.
            await uow.accounts.add(account)
            await uow.commit()

    @staticmethod
    def _created(account: Account) -> CreatedStaffAccount:
        return CreatedStaffAccount(account_id=account.account_id, username=str(account.username),
                                   subject_type=account.subject_type, roles=account.roles,
                                   organisation=account.organisation,
                                   phone_masked=mask_phone(account.login_phone().phone))
