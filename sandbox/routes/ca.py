"""The sandbox CA over HTTP: CRL and OCSP as a real CA serves them, and the dev routes that
issue and revoke certificates (``POST /dev/certificates``, ``/dev/certificates/{serial}/revoke``).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, model_validator

from sandbox.ca import KEY_USAGES, SandboxCA
from sandbox.problems import invalid, not_found

router = APIRouter(tags=["ca"])

_ID_NUMBER = re.compile(r"^(\d{9}|\d{12})$")
_PASSPORT = re.compile(r"^[A-Z0-9]{6,12}$")
_TAX_CODE = re.compile(r"^\d{10}(-\d{3})?$")


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("times need a time zone, e.g. 2026-01-01T00:00:00Z")
    return value


AwareTime = Annotated[datetime | None, AfterValidator(_aware)]


class NewCertificate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_type: Literal["citizen", "enterprise"]
    full_name: StrictStr = Field(min_length=1, max_length=200)
    id_number: StrictStr | None = None
    # Which prefix of the UID attribute carries the number (citizens).
    id_kind: Literal["CCCD", "CMND", "HC"] = "CCCD"
    tax_code: StrictStr | None = None
    # A citizen's certificate for signing in a company's name (an employee's): the company's
    # name (O) and tax code (2.5.4.97 VATVN-…) beside the person's own UID.
    employer_name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    employer_tax_code: StrictStr | None = None
    key_type: Literal["rsa", "ec"] = "rsa"
    not_before: AwareTime = None
    not_after: AwareTime = None
    key_usage: list[Literal["digital_signature", "content_commitment", "key_encipherment",
                            "data_encipherment", "key_agreement"]] | None = None
    # Which revocation pointers the certificate carries (tests of CRL-only and OCSP-only).
    revocation: Literal["both", "crl", "ocsp", "none"] = "both"
    # With a password, the PKCS#12 export is encrypted with it.
    pkcs12_password: StrictStr | None = None

    @model_validator(mode="after")
    def _validity(self) -> NewCertificate:
        if self.not_before and self.not_after and self.not_after <= self.not_before:
            raise ValueError("not_after must be after not_before")
        return self

    @model_validator(mode="after")
    def _identity(self) -> NewCertificate:
        if self.subject_type == "enterprise":
            if not self.tax_code or not _TAX_CODE.match(self.tax_code):
                raise ValueError("enterprise certificates need tax_code (10 digits or NNNNNNNNNN-NNN)")
            if self.employer_name or self.employer_tax_code:
                raise ValueError("employer fields are for citizen certificates")
        else:
            shape = _PASSPORT if self.id_kind == "HC" else _ID_NUMBER
            if not self.id_number or not shape.match(self.id_number):
                raise ValueError("citizen certificates need id_number (9 or 12 digits; passport for HC)")
            if (self.employer_name is None) != (self.employer_tax_code is None) or (
                    self.employer_tax_code and not _TAX_CODE.match(self.employer_tax_code)):
                raise ValueError("an employee certificate needs employer_name and "
                                 "employer_tax_code (10 digits or NNNNNNNNNN-NNN)")
        return self


def ca_of(request: Request) -> SandboxCA:
    ca: SandboxCA = request.app.state.ca
    return ca


@router.post("/dev/certificates", status_code=201, tags=["dev"])
async def issue_certificate(body: NewCertificate, request: Request) -> dict[str, Any]:
    ca = ca_of(request)
    usages = tuple(body.key_usage) if body.key_usage is not None else (
        "digital_signature", "content_commitment")
    assert set(usages) <= set(KEY_USAGES)
    issued = ca.issue(subject_type=body.subject_type, full_name=body.full_name,
                      id_number=body.id_number, id_kind=body.id_kind, tax_code=body.tax_code,
                      key_type=body.key_type, not_before=body.not_before,
                      not_after=body.not_after, key_usage=usages, revocation=body.revocation,
                      employer=(body.employer_name, body.employer_tax_code)
                      if body.employer_name and body.employer_tax_code else None)
    return {
        "serial": issued.serial,
        "certificate_pem": issued.certificate_pem(),
        "private_key_pem": issued.private_key_pem(),
        "chain_pem": ca.chain_pem(),
        "root_pem": ca.root_pem(),
        "pkcs12": ca.pkcs12(issued, body.pkcs12_password),
    }


@router.post("/dev/certificates/{serial}/revoke", response_model=None, tags=["dev"])
async def revoke_certificate(serial: str, request: Request) -> dict[str, Any] | JSONResponse:
    if not ca_of(request).revoke(serial.lower()):
        return not_found("Không có chứng thư số nào với số sê-ri này.")
    return {"serial": serial.lower(), "status": "revoked"}


@router.get("/ca/{which}.crl", response_model=None)
async def crl(which: str, request: Request) -> Response:
    der = ca_of(request).crl(which)
    if der is None:
        return not_found("Không có CRL này.")
    return Response(der, media_type="application/pkix-crl")


@router.get("/ca/{which}.pem", response_model=None)
async def ca_certificate(which: str, request: Request) -> Response:
    ca = ca_of(request)
    pem = {"root": ca.root_pem, "issuing": ca.issuing_pem}.get(which)
    if pem is None:
        return not_found("Không có chứng thư CA này.")
    return Response(pem(), media_type="application/x-pem-file")


@router.post("/ca/ocsp", response_model=None)
async def ocsp_post(request: Request) -> Response:
    body = await request.body()
    return Response(ca_of(request).ocsp_response(body), media_type="application/ocsp-response")


@router.get("/ca/ocsp/{encoded:path}", response_model=None)
async def ocsp_get(encoded: str, request: Request) -> Response:
    # RFC 6960 appendix A.1: the DER request, base64, URL-encoded, in the path.
    try:
        der = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        return invalid([{"name": "request", "detail": "not base64"}])
    return Response(ca_of(request).ocsp_response(der), media_type="application/ocsp-response")
