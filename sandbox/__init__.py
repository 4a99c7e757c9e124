"""The sandbox world: the simulated outside world of dvcid, for dev, demo and tests only.

The services reach every external system through their real adapters (HTTP clients, the
official Twilio SDK); in dev and tests those adapters are pointed here, at a small FastAPI app
on 127.0.0.1 that speaks the same protocols. It is a simulator: its state lives in memory,
is loaded from ``seed.json`` at start, and is lost on exit. Production refuses any sandbox
URL (``shared.settings``).

Running it
----------
``python -m sandbox`` listens on ``DVCID_SANDBOX_HOST`` (127.0.0.1) : ``DVCID_SANDBOX_PORT``
(8100). Services are configured with ``DVCID_TELCO_URL=<sandbox>/telco``,
``DVCID_BHXH_URL=<sandbox>/bhxh`` and
``DVCID_TWILIO_API_BASE=<sandbox>/twilio``; the gateway forwards ``/dev/*`` and
``/api/v1/dev/*`` here when ``DVCID_SANDBOX_URL`` is set.

=========================================================  ==================================
route                                                      what it simulates / does
=========================================================  ==================================
``POST /telco/v1/subscribers/lookup`` ``{phone}``          carriers' subscriber registry;
                                                           ``Authorization: Bearer
                                                           DVCID_TELCO_API_KEY`` (also the
                                                           older ``GET …/subscribers/{phone}``)
``POST /bhxh/v1/insured/lookup`` ``{bhxh_code}``           BHXH (social insurance) registry;
                                                           ``Authorization: Bearer
                                                           DVCID_BHXH_API_KEY`` (also the
                                                           older ``GET …/insured/{code}``)
``POST /twilio/2010-04-01/Accounts/{Sid}/Messages.json``   Twilio Messages API (Basic auth
                                                           ``DVCID_TWILIO_ACCOUNT_SID`` :
                                                           ``DVCID_TWILIO_AUTH_TOKEN``)
``POST /dev/telco-subscribers``                            add or replace a subscriber
                                                           (``status`` optional: active,
                                                           suspended, terminated)
``GET /dev/telco-subscribers/{phone}``                     read one
``POST /dev/bhxh-records``                                 add or replace a BHXH record
                                                           ``{bhxh_code, id_number,
                                                           full_name, birth_date, sex,
                                                           phone?}``
``GET /dev/bhxh-records/{bhxh_code}``                      read one
``GET /dev/sms?phone=``                                    messages sent to a phone, newest
                                                           first ``[{to, body, sent_at}]``
``DELETE /dev/sms``                                        empty the inbox
``POST /dev/sms-faults`` ``{phone, fault}``                make the SMS gateway fail for a
                                                           number: ``invalid_number``,
                                                           ``unreachable``, ``rate_limit``,
                                                           ``server_error``, ``none``
``DELETE /dev/sms-faults``                                 clear every fault
``GET /vneid/…``                                           VNeID's OpenID Provider: discovery,
                                                           JWKS, authorize (CCCD + PIN screen),
                                                           token, userinfo
                                                           (``sandbox/vneid``,
                                                           docs/external/vneid.md)
``POST /dev/vneid-citizens``                               add or replace a VNeID account
                                                           ``{id_number, full_name,
                                                           birth_date, sex?, phone?, pin}``
``GET /dev/vneid-citizens/{id_number}``                    read one (``sub``, never the PIN)
``GET /healthz``                                           alive
=========================================================  ==================================

Phones are accepted in any usual Vietnamese form (0912345678, +84912345678, 84912345678) and
stored as E.164 (``phonenumbers``, region VN). Settings (``config.py``): ``DVCID_SANDBOX_HOST``,
``DVCID_SANDBOX_PORT``, ``DVCID_SANDBOX_SEED`` (another seed file), ``DVCID_TELCO_API_KEY``,
``DVCID_BHXH_API_KEY``,
``DVCID_TWILIO_ACCOUNT_SID``, ``DVCID_TWILIO_AUTH_TOKEN``, and VNeID's ``DVCID_VNEID_*``
(docs/external/vneid.md).

Seed (``seed.json``)
--------------------
Subscribers whose CCCD numbers are structurally real: 3-digit province code, century/sex digit
(0/1 = born 1900-1999 male/female, 2/3 = born 2000-2099 male/female), two digits of the birth
year, six serial digits.

==============  ==============  ===============  ==========  ======  ==========  ============
phone           CCCD            full name        birth date  sex     carrier     province
==============  ==============  ===============  ==========  ======  ==========  ============
+84912345678    001090001234    Nguyễn Văn An    1990-05-12  male    Vinaphone   Hà Nội (001)
+84983456789    079195000123    Trần Thị Bình    1995-08-23  female  Viettel     TP HCM (079)
+84903456789    048088004567    Lê Hoàng Cường   1988-11-02  male    Mobifone    Đà Nẵng (048)
+84868123456    031302000789    Phạm Thị Dung    2002-03-15  female  Viettel     Hải Phòng (031)
+84779123456    092085006789    Võ Minh Đức      1985-01-30  male    Mobifone    Cần Thơ (092)
+84888123456    038200001122    Hoàng Quốc Gia   2000-07-04  male    Vinaphone   Thanh Hóa (038)
+84965432109    040199003344    Đặng Thị Hà      1999-12-01  female  Viettel     Nghệ An (040)
==============  ==============  ===============  ==========  ======  ==========  ============

The registry answers ``{phone, id_number, full_name, birth_date, status: "active"}``; sex,
carrier and province are in the seed only to document the records.
Each subscriber with a ``vneid_pin`` (all but Đặng Thị Hà) also has a VNeID account (level 2)
with that PIN, ``123456``.

BHXH records (``bhxh_records``): the first three people above, and one person known to BHXH
only (no seeded phone; add a subscriber or use any phone: BHXH registration proves the phone
by OTP, not against the registry).

==========  ============  ====================  ==========  ======  ============
BHXH code   CCCD          full name             birth date  sex     phone
==========  ============  ====================  ==========  ======  ============
0190123456  001090001234  Nguyễn Văn An         1990-05-12  male    +84912345678
7995000123  079195000123  Trần Thị Bình         1995-08-23  female  —
4888004567  048088004567  Lê Hoàng Cường        1988-11-02  male    +84903456789
0107001122  001307001122  Nguyễn Thị Ngọc Ánh   2007-02-14  female  —
==========  ============  ====================  ==========  ======  ============
"""
