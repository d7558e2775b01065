"""The one map from the pool's refusals to HTTP: each status, and the body's machine-readable code."""

from __future__ import annotations

import httpx
import pytest

from jupyter_fairshare.pool import errors
from jupyter_fairshare.pool.http.app import create_app, status_of
from jupyter_fairshare.pool.store import accounts


@pytest.mark.parametrize(("error", "status"), [
    (errors.Unauthorized, 401), (errors.Forbidden, 403), (errors.NotFound, 404), (errors.Conflict, 409),
    (errors.NoResult, 409), (errors.Invalid, 422), (errors.NoSiteFits, 422), (errors.CreditsTooLow, 402),
    (errors.PayloadTooLarge, 413),
])
def test_each_refusal_has_its_status_and_a_code_of_its_own(error, status):
    assert status_of(error("x")) == status
    assert error.code != errors.Refused.code


def test_every_code_is_distinct():
    codes = [cls.code for cls in (errors.Unauthorized, errors.Forbidden, errors.NotFound, errors.Conflict,
                                  errors.NoResult, errors.Invalid, errors.NoSiteFits, errors.CreditsTooLow,
                                  errors.PayloadTooLarge)]
    assert len(set(codes)) == len(codes)


async def test_a_refusal_answers_its_sentence_and_code(parts):
    transport = httpx.ASGITransport(app=create_app(parts))
    async with httpx.AsyncClient(transport=transport, base_url="http://pool") as http:
        anonymous = await http.get("/api/v1/jobs")
        assert anonymous.status_code == 401
        assert anonymous.json() == {"detail": "No token was sent; pass Authorization: Bearer <token> "
                                              "(set FAIRSHARE_TOKEN).", "code": "unauthorized"}
        stranger = await http.get("/api/v1/jobs", headers={"Authorization": "Bearer nope"})
        assert stranger.status_code == 401 and stranger.json()["code"] == "unauthorized"
        with parts.engine.begin() as connection:
            token = accounts.create(connection, "ada", "standard", credits=1.0)
        me = {"Authorization": f"Bearer {token}"}
        bad = await http.get("/api/v1/jobs", params={"limit": 0}, headers=me)
        assert bad.status_code == 422 and bad.json()["code"] == "invalid"
        missing = await http.get(f"/api/v1/jobs/{'0' * 32}/result", headers=me)
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        poor = await http.post("/api/v1/jobs", content=b"x", headers={**me, "Fairshare-Job": '{"max_cost": 5}'})
        assert poor.status_code == 402
        assert poor.json() == {"detail": poor.json()["detail"], "code": "credits_too_low", "estimate": 5.0,
                               "balance": 1.0}


def test_the_openapi_spec_declares_the_error_body(parts):
    spec = create_app(parts).openapi()
    submit = spec["paths"]["/api/v1/jobs"]["post"]["responses"]
    assert {"401", "402", "409", "413", "422"} <= set(submit)
    assert submit["402"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert set(spec["components"]["schemas"]["ErrorBody"]["required"]) == {"detail", "code"}
