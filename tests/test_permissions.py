"""Every role against every page and endpoint that exists so far."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from enterprises.models import Authorization, EnterpriseClaim, ImportBatch
from lending.models import LoanApplication
from tests.factories import PASSWORD
from xinyidai.core.models import LedgerCheck

pytestmark = pytest.mark.django_db

ROLES = [
    "anonymous",
    "plain_user",
    "enterprise_owner",
    "enterprise_admin",
    "enterprise_member",
    "bank_admin",
    "bank_officer",
    "credit_office",
    "trading_centre",
    "data_source",
    "superuser",
]
LOGIN = 302  # anonymous visitors are sent to the sign-in page


def expect(default: int, anonymous: int = LOGIN, **per_role: int) -> dict[str, int]:
    table = {role: default for role in ROLES}
    table["anonymous"] = anonymous
    table.update(per_role)
    return table


ENTERPRISE_ROLES = {"enterprise_owner": 200, "enterprise_admin": 200, "enterprise_member": 200}
OFFICE = {"credit_office": 200, "superuser": 200}
BANKS = {"bank_admin": 200, "bank_officer": 200}
# Reading one enterprise's data (tests/enterprises/test_access_matrix.py has the full matrix):
# banks get 403 naming the missing authorisation (the world's grants start tomorrow), the
# office 403 until it states a reason, everyone else 404 as if the firm did not exist.
READ_REFUSED = {"bank_admin": 403, "bank_officer": 403, "credit_office": 403, "superuser": 403}
GRANTERS = {"enterprise_owner": 200, "enterprise_admin": 200}
ENTERPRISE_ROLES_404 = dict.fromkeys(ENTERPRISE_ROLES, 404)

PAGES: dict[str, tuple[str, dict[str, int]]] = {
    "home": ("/", expect(200, anonymous=200)),
    "uscc_check": ("/enterprises/uscc/?code=91441900", expect(200, anonymous=200)),
    "claim_form": ("/enterprises/claim/", expect(200)),
    "claim_list": ("/enterprises/claims/", expect(200)),
    "my_enterprise": ("/enterprises/mine/", expect(403, **ENTERPRISE_ROLES)),
    "registry": ("/enterprises/registry/", expect(403, **OFFICE)),
    "own_enterprise_detail": (
        "/enterprises/registry/{uscc}/",
        expect(404, **ENTERPRISE_ROLES, **READ_REFUSED),
    ),
    "other_enterprise_detail": (
        "/enterprises/registry/{other_uscc}/",
        expect(404, **READ_REFUSED),
    ),
    "office_detail_with_reason": (
        "/enterprises/registry/{other_uscc}/?reason=核查异议",
        expect(404, **(READ_REFUSED | OFFICE)),
    ),
    "own_portrait": (
        "/enterprises/registry/{uscc}/portrait/",
        expect(404, **ENTERPRISE_ROLES, **READ_REFUSED),
    ),
    "other_portrait": ("/enterprises/registry/{other_uscc}/portrait/", expect(404, **READ_REFUSED)),
    "data_quality": ("/enterprises/quality/", expect(403, **OFFICE)),
    "imports": ("/enterprises/imports/", expect(403, credit_office=200)),
    "import_batch": ("/enterprises/imports/{batch}/", expect(403, credit_office=200)),
    "data_quality_csv": ("/enterprises/quality/?export=csv", expect(403, **OFFICE)),
    "office_claims": ("/enterprises/office/claims/", expect(403, credit_office=200)),
    "office_claim_decide": ("/enterprises/office/claims/{claim}/", expect(403, credit_office=200)),
    "my_bank": ("/banks/mine/", expect(403, bank_admin=200, bank_officer=200)),
    "bank_registry": ("/banks/registry/", expect(403, **OFFICE)),
    # the admin sends everyone else to its sign-in, which refuses signed-in non-staff (below)
    "admin": ("/admin/", expect(302, superuser=200)),
    "enterprise_invitation": ("/enterprises/invitations/{ent_token}/", expect(200)),
    "bank_invitation": ("/banks/invitations/{bank_token}/", expect(200)),
    "unknown_invitation": ("/banks/invitations/nope/", expect(404)),
    "authorization_list": (
        "/enterprises/authorizations/",
        expect(403, **ENTERPRISE_ROLES, **BANKS, **OFFICE),
    ),
    "authorization_list_csv": (
        "/enterprises/authorizations/?export=csv",
        expect(403, **ENTERPRISE_ROLES, **BANKS, **OFFICE),
    ),
    "authorization_create": (
        "/enterprises/authorizations/new/",
        expect(403, **GRANTERS),
    ),
    "authorization_detail": (
        "/enterprises/authorizations/{authorization}/",
        expect(404, **ENTERPRISE_ROLES, **BANKS, **OFFICE),
    ),
    "other_authorization_detail": (
        "/enterprises/authorizations/{other_authorization}/",
        expect(404, **OFFICE),
    ),
    "authorization_letter": (
        "/enterprises/authorizations/{authorization}/letter.pdf",
        expect(404, **ENTERPRISE_ROLES, **BANKS, **OFFICE),
    ),
    "other_authorization_letter": (
        "/enterprises/authorizations/{other_authorization}/letter.pdf",
        expect(404, **OFFICE),
    ),
    "authorization_renew": (
        "/enterprises/authorizations/{authorization}/renew/",
        expect(403, **GRANTERS),
    ),
    "other_authorization_renew": (
        "/enterprises/authorizations/{other_authorization}/renew/",
        expect(403, enterprise_owner=404, enterprise_admin=404),
    ),
    "access_log": (
        "/enterprises/access-log/",
        expect(403, **ENTERPRISE_ROLES, **BANKS, **OFFICE),
    ),
    "access_log_csv": (
        "/enterprises/access-log/?export=csv",
        expect(403, **ENTERPRISE_ROLES, **BANKS, **OFFICE),
    ),
    "ledger_anchors": ("/ledger/", expect(200, anonymous=200)),
    "api_docs": ("/api/v1/docs/", expect(200, anonymous=200)),
    "api_schema": ("/api/v1/schema/", expect(200, anonymous=200)),
    "calendar_year": ("/office/calendar/", expect(403, **OFFICE)),
    "calendar_year_library": ("/office/calendar/?year=2026", expect(403, **OFFICE)),
    # loan products: the marketplace is public; banks manage their own, the office all of them
    "market": ("/market/", expect(200, anonymous=200)),
    "market_filtered": (
        "/market/?kind=credit&amount=500000&eligible=1&sort=-amount",
        expect(200, anonymous=200),
    ),
    "market_product": ("/market/{product}/", expect(200, anonymous=200)),
    "product_manage_list": ("/banks/products/", expect(403, **BANKS, **OFFICE)),
    "product_manage_list_csv": ("/banks/products/?export=csv", expect(403, **BANKS, **OFFICE)),
    "product_create": ("/banks/products/new/", expect(403, **BANKS)),
    "product_manage_detail": ("/banks/products/{product}/", expect(403, **BANKS, **OFFICE)),
    "other_product_manage_detail": (
        "/banks/products/{other_product}/",
        expect(403, bank_admin=404, bank_officer=404, **OFFICE),
    ),
    "product_edit": ("/banks/products/{product}/edit/", expect(403, **BANKS)),
    "other_product_edit": (
        "/banks/products/{other_product}/edit/",
        expect(403, bank_admin=404, bank_officer=404),
    ),
    # notifications: everyone signed in has their own list; nobody opens another's notice
    "notification_list": ("/notifications/", expect(200)),
    "notification_list_page_2": ("/notifications/?page=2", expect(200)),
    "notification_open_unknown": ("/notifications/999999/open/", expect(404)),
    # loan applications (tests/lending/test_pages.py has the pages): each tenant lists its own
    # (a bank also the demands in the pool offered to it), the office all; CSV for bank admins
    # and the office, the page for everyone else allowed
    "application_list": ("/loans/", expect(403, **ENTERPRISE_ROLES, **BANKS, **OFFICE)),
    "application_list_filtered": (
        "/loans/?status=submitted&kind=product&queue=pool&overdue=on&q=DK&page=2",
        expect(403, **ENTERPRISE_ROLES, **BANKS, **OFFICE),
    ),
    "application_list_csv": (
        "/loans/?export=csv",
        expect(403, **ENTERPRISE_ROLES, **BANKS, **OFFICE),
    ),
    "application_detail": (
        "/loans/{application}/",
        expect(403, **ENTERPRISE_ROLES, **BANKS, **OFFICE),
    ),
    # another enterprise's demand offered to another bank: as if it did not exist
    "other_demand_detail": (
        "/loans/{other_demand}/",
        expect(403, **ENTERPRISE_ROLES_404, bank_admin=404, bank_officer=404, **OFFICE),
    ),
    "application_move_by_get": ("/loans/{application}/accept/", expect(405, anonymous=405)),
    # a member gets the page telling them to ask an owner or admin
    "demand_create": ("/loans/demands/new/", expect(403, **ENTERPRISE_ROLES)),
    # matching: invitations (received / sent / all), recommended products for the enterprise,
    # recommended enterprises for the bank's own product only
    "invitation_list": ("/loans/invitations/", expect(403, **ENTERPRISE_ROLES, **BANKS, **OFFICE)),
    "recommended_products": ("/loans/recommended/", expect(403, **ENTERPRISE_ROLES)),
    "product_matches": ("/banks/products/{product}/matches/", expect(403, **BANKS)),
    "other_product_matches": (
        "/banks/products/{other_product}/matches/",
        expect(403, bank_admin=404, bank_officer=404),
    ),
    "application_create": ("/market/{product}/apply/", expect(403, **ENTERPRISE_ROLES)),
    "unknown_application_create": ("/market/999999/apply/", expect(403, **ENTERPRISE_ROLES_404)),
    "punishment_list": ("/loans/punishments/", expect(403, **OFFICE)),
    "punishment_list_csv": ("/loans/punishments/?export=csv", expect(403, **OFFICE)),
    # recommended lists (tests/lending/test_lists.py): the office manages them; a bank's staff
    # see and answer only the enterprises allocated to their bank
    "reclist_list": ("/loans/lists/", expect(403, **OFFICE)),
    "reclist_list_filtered": ("/loans/lists/?status=approved&q=TJ&page=2", expect(403, **OFFICE)),
    "reclist_create": ("/loans/lists/new/", expect(403, **OFFICE)),
    "reclist_criteria": ("/loans/lists/criteria/", expect(403, **OFFICE)),
    "reclist_criteria_create": ("/loans/lists/criteria/new/", expect(403, **OFFICE)),
    "reclist_criteria_edit": ("/loans/lists/criteria/{criteria}/", expect(403, **OFFICE)),
    "reclist_detail": ("/loans/lists/{reclist}/", expect(403, **OFFICE)),
    "reclist_detail_filtered": (
        "/loans/lists/{reclist}/?shown=all&town=changan&grade=A&feedback=pending&q=x&page=2",
        expect(403, **OFFICE),
    ),
    **{
        f"reclist_{kind}": (f"/loans/lists/{{reclist}}/?export={kind}", expect(403, **OFFICE))
        for kind in ("csv", "xlsx", "json")
    },
    "unknown_reclist": ("/loans/lists/999999/", expect(403, **dict.fromkeys(OFFICE, 404))),
    "reclist_move_by_get": ("/loans/lists/{reclist}/approve/", expect(405, anonymous=405)),
    "reclist_bank_entries": ("/loans/lists/bank/", expect(403, **BANKS)),
    "reclist_bank_entries_csv": ("/loans/lists/bank/?export=csv", expect(403, **BANKS)),
    "reclist_feedback": ("/loans/lists/entries/{reclist_entry}/", expect(403, **BANKS)),
    "other_reclist_feedback": (
        "/loans/lists/entries/{other_reclist_entry}/",
        expect(403, bank_admin=404, bank_officer=404),
    ),
}

# State-changing page actions (POST): who may do them, and that nobody else changed anything.
POST_PAGES: dict[str, tuple[str, dict[str, int]]] = {
    # the owner is redirected back to the member list; everyone else is refused
    "member_remove": (
        "/enterprises/mine/members/{member}/remove/",
        expect(403, enterprise_owner=302),
    ),
    # someone else's claim: the page answers with a message, the claim stays open
    "claim_withdraw": ("/enterprises/claims/{claim}/withdraw/", expect(302)),
    "claim_decide": (
        "/enterprises/office/claims/{claim}/",
        expect(403, credit_office=302),
    ),
    # the owner or an admin revokes and is sent back to the detail page
    "authorization_revoke": (
        "/enterprises/authorizations/{authorization}/revoke/",
        expect(403, enterprise_owner=302, enterprise_admin=302),
    ),
    "other_authorization_revoke": (
        "/enterprises/authorizations/{other_authorization}/revoke/",
        expect(403, enterprise_owner=404, enterprise_admin=404),
    ),
    # without the password the owner and admin get the form back; nothing is renewed
    "authorization_renew": (
        "/enterprises/authorizations/{authorization}/renew/",
        expect(403, enterprise_owner=200, enterprise_admin=200),
    ),
    "ledger_verify_now": ("/ledger/verify/", expect(403, credit_office=302)),
    # the office passes the role check; the posted form names no calendar action: 400
    "calendar_year": ("/office/calendar/?year=2027", expect(403, **dict.fromkeys(OFFICE, 400))),
    # a bank admin or the office suspends; a bank officer is told they may not: all back to
    # the product page (tests/banks/test_product_pages.py checks who changed what)
    "product_suspend": (
        "/banks/products/{product}/suspend/",
        expect(403, **dict.fromkeys([*BANKS, *OFFICE], 302)),
    ),
    "other_product_suspend": (
        "/banks/products/{other_product}/suspend/",
        expect(403, bank_admin=404, bank_officer=404, **dict.fromkeys(OFFICE, 302)),
    ),
    # the posted data is no set of terms: bank staff get the form back, nothing is saved
    "product_create": ("/banks/products/new/", expect(403, **BANKS)),
    "product_edit": ("/banks/products/{product}/edit/", expect(403, **BANKS)),
    "other_product_edit": (
        "/banks/products/{other_product}/edit/",
        expect(403, bank_admin=404, bank_officer=404),
    ),
    # marks the user's own notices read and goes back to the list
    "notification_read_all": ("/notifications/read-all/", expect(302)),
    # a move the user may not make is refused on the application's page (400), unchanged
    "application_accept": (
        "/loans/{application}/accept/",
        # whoever may not make the move is refused with 403, on the page as in the API
        expect(403, bank_admin=302, bank_officer=302),
    ),
    "application_withdraw": (
        "/loans/{application}/withdraw/",
        expect(403, **dict.fromkeys(GRANTERS, 302)),
    ),
    "other_demand_accept": (
        "/loans/{other_demand}/accept/",
        expect(403, **dict.fromkeys([*ENTERPRISE_ROLES, *BANKS], 404)),
    ),
    # the posted data is no application: the enterprise gets the form back, nothing is saved
    "application_create": (
        "/market/{product}/apply/",
        expect(403, **dict.fromkeys(ENTERPRISE_ROLES, 400)),
    ),
    "demand_create": ("/loans/demands/new/", expect(403, **dict.fromkeys(ENTERPRISE_ROLES, 400))),
    # recommended lists: the office pushes an approved list now (back to its page); it may not
    # regenerate it or remove an entry any more (409 on the page); the posted data is no
    # allocation, criteria or feedback: the form comes back (400)
    "reclist_push": ("/loans/lists/{reclist}/push/", expect(403, **dict.fromkeys(OFFICE, 302))),
    "reclist_generate": (
        "/loans/lists/{reclist}/generate/",
        expect(403, **dict.fromkeys(OFFICE, 409)),
    ),
    "reclist_entry_remove": (
        "/loans/lists/{reclist}/entries/{reclist_entry}/remove/",
        expect(403, **dict.fromkeys(OFFICE, 409)),
    ),
    "reclist_allocate": (
        "/loans/lists/{reclist}/allocate/",
        expect(403, **dict.fromkeys(OFFICE, 400)),
    ),
    "reclist_criteria_create": (
        "/loans/lists/criteria/new/",
        expect(403, **dict.fromkeys(OFFICE, 400)),
    ),
    "reclist_feedback": (
        "/loans/lists/entries/{reclist_entry}/",
        expect(403, **dict.fromkeys(BANKS, 400)),
    ),
    # no ref posted: the bank's own staff are sent back with the error, others refused
    "product_invite": (
        "/banks/products/{product}/invite/",
        expect(403, bank_admin=302, bank_officer=302),
    ),
    # accepting leads the owner or admin to the application form; the others who can see the
    # invitation (a member, the bank, the office) are refused on the page (403)
    "invitation_accept": (
        "/loans/invitations/{invitation}/accept/",
        expect(403, enterprise_owner=302, enterprise_admin=302),
    ),
}

API_DENIED = 403  # DRF answers unauthenticated session clients with 403 and the error shape

ENDPOINTS: dict[str, tuple[str, str, dict[str, Any] | None, dict[str, int]]] = {
    "me": ("get", "/api/v1/me/", None, expect(200, anonymous=API_DENIED)),
    "uscc_check": ("get", "/api/v1/uscc/check/?code=x", None, expect(200, anonymous=200)),
    "enterprise_list": ("get", "/api/v1/enterprises/", None, expect(200, anonymous=API_DENIED)),
    "own_enterprise": (
        "get",
        "/api/v1/enterprises/{uscc}/",
        None,
        expect(404, anonymous=API_DENIED, **ENTERPRISE_ROLES, **READ_REFUSED),
    ),
    "other_enterprise": (
        "get",
        "/api/v1/enterprises/{other_uscc}/",
        None,
        expect(404, anonymous=API_DENIED, **READ_REFUSED),
    ),
    **{
        f"{what}_{whose}": (
            "get",
            f"/api/v1/enterprises/{{{key}}}/{what}/",
            None,
            expect(
                404,
                anonymous=API_DENIED,
                **READ_REFUSED,
                **(ENTERPRISE_ROLES if whose == "own" else {}),
            ),
        )
        for what in ("summary", "portrait", "graph", "ownership", "records")
        for whose, key in (("own", "uscc"), ("other", "other_uscc"))
    },
    **{
        f"{what}_office_reason": (
            "get",
            f"/api/v1/enterprises/{{other_uscc}}/{what}/?reason=%E6%A0%B8%E6%9F%A5",
            None,
            expect(404, anonymous=API_DENIED, **(READ_REFUSED | OFFICE)),
        )
        for what in ("summary", "portrait", "records")
    },
    # authorisations: the enterprise's owners and admins grant and end them; everyone signed in
    # lists what their tenant may see (possibly nothing)
    "authorization_list": (
        "get",
        "/api/v1/authorizations/",
        None,
        expect(200, anonymous=API_DENIED),
    ),
    "authorization_create": (
        "post",
        "/api/v1/authorizations/",
        {
            "grantee_bank": "{bank}",
            "scope": "portrait",
            "purpose": "pre_loan",
            "password": PASSWORD,
        },
        expect(403, anonymous=API_DENIED, enterprise_owner=201, enterprise_admin=201),
    ),
    "authorization_detail": (
        "get",
        "/api/v1/authorizations/{authorization}/",
        None,
        expect(404, anonymous=API_DENIED, **ENTERPRISE_ROLES, **BANKS, **OFFICE),
    ),
    "other_authorization_detail": (
        "get",
        "/api/v1/authorizations/{other_authorization}/",
        None,
        expect(404, anonymous=API_DENIED, **OFFICE),
    ),
    "authorization_letter": (
        "get",
        "/api/v1/authorizations/{authorization}/letter/",
        None,
        expect(404, anonymous=API_DENIED, **ENTERPRISE_ROLES, **BANKS, **OFFICE),
    ),
    "authorization_revoke": (
        "post",
        "/api/v1/authorizations/{authorization}/revoke/",
        {"reason": "不再需要"},
        expect(403, anonymous=API_DENIED, **GRANTERS),
    ),
    "other_authorization_revoke": (
        "post",
        "/api/v1/authorizations/{other_authorization}/revoke/",
        {"reason": "不再需要"},
        expect(403, anonymous=API_DENIED, **ENTERPRISE_ROLES_404),
    ),
    "authorization_renew": (
        "post",
        "/api/v1/authorizations/{authorization}/renew/",
        {"password": PASSWORD},
        expect(403, anonymous=API_DENIED, enterprise_owner=201, enterprise_admin=201),
    ),
    "access_log": (
        "get",
        "/api/v1/authorizations/access-log/",
        None,
        expect(200, anonymous=API_DENIED),
    ),
    "ledger_anchors": ("get", "/api/v1/ledger/anchors/", None, expect(200, anonymous=200)),
    "ledger_status": ("get", "/api/v1/ledger/", None, expect(403, anonymous=API_DENIED, **OFFICE)),
    # loan products: the marketplace is public; a bank manages its own, the office all
    "products_market": ("get", "/api/v1/products/?amount=500000", None, expect(200, anonymous=200)),
    "product_public": ("get", "/api/v1/products/{product}/", None, expect(200, anonymous=200)),
    "products_manage": (
        "get",
        "/api/v1/products/manage/",
        None,
        expect(200, anonymous=API_DENIED),
    ),
    "product_manage_detail": (
        "get",
        "/api/v1/products/manage/{product}/",
        None,
        expect(404, anonymous=API_DENIED, **BANKS, **OFFICE),
    ),
    "other_product_manage_detail": (
        "get",
        "/api/v1/products/manage/{other_product}/",
        None,
        expect(404, anonymous=API_DENIED, **OFFICE),
    ),
    "product_create_api": (
        "post",
        "/api/v1/products/",
        {
            "code": "NEW-1",
            "name": "新产品",
            "kind": "credit",
            "guarantee_methods": ["credit"],
            "amount_min": "100000",
            "amount_max": "500000",
            "rate_min": "3.5",
            "rate_max": "4.5",
            "term_min": 3,
            "term_max": 12,
            "repayment_methods": ["bullet"],
        },
        expect(403, anonymous=API_DENIED, bank_admin=201, bank_officer=201),
    ),
    "product_suspend_api": (
        "post",
        "/api/v1/products/{product}/suspend/",
        {"reason": "调整"},
        expect(404, anonymous=API_DENIED, bank_admin=200, bank_officer=403, **OFFICE),
    ),
    "other_product_suspend_api": (
        "post",
        "/api/v1/products/{other_product}/suspend/",
        {"reason": "调整"},
        expect(404, anonymous=API_DENIED, **OFFICE),
    ),
    # already published: the office may publish in principle, the status says no
    "product_publish_api": (
        "post",
        "/api/v1/products/{product}/publish/",
        None,
        expect(
            404,
            anonymous=API_DENIED,
            bank_admin=403,
            bank_officer=403,
            credit_office=409,
            superuser=409,
        ),
    ),
    # loan applications (tests/lending has the workflow): a list per tenant for everyone signed
    # in; only an enterprise's owner or admin may apply (here to a product that does not exist)
    "applications_list": (
        "get",
        "/api/v1/applications/",
        None,
        expect(200, anonymous=API_DENIED),
    ),
    "application_submit": (
        "post",
        "/api/v1/applications/",
        {
            "product": 999999,
            "amount": "500000",
            "term_months": 12,
            "repayment_method": "bullet",
            "purpose": "周转",
            "password": PASSWORD,
        },
        expect(403, anonymous=API_DENIED, enterprise_owner=404, enterprise_admin=404),
    ),
    "application_accept_unknown": (
        "post",
        "/api/v1/applications/999999/accept/",
        None,
        expect(404, anonymous=API_DENIED),
    ),
    "enterprise_invite": (
        "post",
        "/api/v1/enterprises/{uscc}/invitations/",
        {"email": "new.member@example.com", "role": "member"},
        expect(
            404,
            anonymous=API_DENIED,
            enterprise_owner=201,
            enterprise_admin=403,
            enterprise_member=403,
            credit_office=403,
            superuser=403,
        ),
    ),
    "claim_list": ("get", "/api/v1/claims/", None, expect(200, anonymous=API_DENIED)),
    "claim_approve": (
        "post",
        "/api/v1/claims/{claim}/approve/",
        {"reason": "ok"},
        expect(403, credit_office=200),
    ),
    "claim_reject": (
        "post",
        "/api/v1/claims/{claim}/reject/",
        {"reason": "资料不符"},
        expect(403, credit_office=200),
    ),
    "claim_withdraw": (
        "post",
        "/api/v1/claims/{claim}/withdraw/",
        None,
        expect(404, anonymous=API_DENIED),
    ),
    "record_batch": (
        "post",
        "/api/v1/credit-records/batches/",
        {"records": [{"source_record_id": "1"}]},
        expect(403, anonymous=API_DENIED, data_source=201),
    ),
    "bank_list": ("get", "/api/v1/banks/", None, expect(200, anonymous=API_DENIED)),
    "bank_detail": ("get", "/api/v1/banks/{bank}/", None, expect(200, anonymous=API_DENIED)),
    "bank_create": (
        "post",
        "/api/v1/banks/",
        {"name": "新银行", "fi_code": "C1234567890123", "uscc": "{new_bank_uscc}"},
        expect(403, credit_office=201, superuser=201),
    ),
    "bank_invite": (
        "post",
        "/api/v1/banks/{bank}/invitations/",
        {"email": "new.officer@example.com", "role": "officer"},
        expect(403, anonymous=API_DENIED, bank_admin=201, credit_office=201, superuser=201),
    ),
    "credit_record_quality": (
        "get",
        "/api/v1/credit-records/quality/",
        None,
        expect(403, anonymous=API_DENIED, **OFFICE),
    ),
    "calendar_days": (
        "get",
        "/api/v1/calendar/days/?year=2027",
        None,
        expect(200, anonymous=API_DENIED),
    ),
    "calendar_day_set": (
        "post",
        "/api/v1/calendar/days/",
        {"day": "2027-02-06", "kind": "holiday", "name": "春节"},
        expect(403, anonymous=API_DENIED, **OFFICE),
    ),
    # nothing is entered for 2027 in this world: the office passes the role check and is
    # refused by the rule that a confirmed year has its holidays entered
    "calendar_year_confirm": (
        "post",
        "/api/v1/calendar/years/2027/confirm/",
        {"published_ref": "测试文号"},
        expect(403, anonymous=API_DENIED, **dict.fromkeys(OFFICE, 400)),
    ),
    # notifications: each signed-in user reads and marks their own
    "notifications": ("get", "/api/v1/notifications/", None, expect(200, anonymous=API_DENIED)),
    "notifications_unread": (
        "get",
        "/api/v1/notifications/?unread=true",
        None,
        expect(200, anonymous=API_DENIED),
    ),
    "notification_read_unknown": (
        "post",
        "/api/v1/notifications/999999/read/",
        None,
        expect(404, anonymous=API_DENIED),
    ),
    "notifications_read_all": (
        "post",
        "/api/v1/notifications/read-all/",
        None,
        expect(200, anonymous=API_DENIED),
    ),
    # financing demands: only an enterprise's owner or admin previews or posts one; no listed
    # product fits this world's enterprise (founded on an unknown date): an empty preview, and
    # a demand refused as no bank fits
    "demand_preview": (
        "post",
        "/api/v1/demands/preview/",
        {"amount": "500000", "term_months": 12, "purpose": "周转"},
        expect(403, anonymous=API_DENIED, enterprise_owner=200, enterprise_admin=200),
    ),
    "demand_create": (
        "post",
        "/api/v1/demands/",
        {"amount": "500000", "term_months": 12, "purpose": "周转", "password": PASSWORD},
        expect(403, anonymous=API_DENIED, enterprise_owner=400, enterprise_admin=400),
    ),
    # recording a contact: the accepting officer or a bank admin (the bank officer here did not
    # accept it); nobody before it is accepted (409); outsiders do not see it (404)
    "application_contact": (
        "post",
        "/api/v1/applications/{handled_application}/contact/",
        {"reason": "电话联系法定代表人"},
        expect(
            404,
            anonymous=API_DENIED,
            **dict.fromkeys([*ENTERPRISE_ROLES, *OFFICE], 403),
            bank_admin=200,
            bank_officer=403,
        ),
    ),
    # invitations: anyone signed in may list (their own only); a bank invites by `ref` (here
    # none that is valid: 400), others do not find the product (404); only the invited
    # firm's owner or admin answers (a decline needs a reason: 400)
    "invitations": ("get", "/api/v1/invitations/", None, expect(200, anonymous=API_DENIED)),
    "product_invite": (
        "post",
        "/api/v1/products/{product}/invitations/",
        {"ref": "forged"},
        expect(404, anonymous=API_DENIED, bank_admin=400, bank_officer=400),
    ),
    "invitation_decline": (
        "post",
        "/api/v1/invitations/{invitation}/decline/",
        {"reason": ""},
        expect(
            404,
            anonymous=API_DENIED,
            **(
                dict.fromkeys([*ENTERPRISE_ROLES, *BANKS, *OFFICE], 403)
                | dict.fromkeys(GRANTERS, 400)
            ),
        ),
    ),
    "application_contact_before_accepting": (
        "post",
        "/api/v1/applications/{application}/contact/",
        {"reason": "电话联系法定代表人"},
        expect(
            404,
            anonymous=API_DENIED,
            **dict.fromkeys([*ENTERPRISE_ROLES, *OFFICE], 403),
            bank_admin=409,
            bank_officer=403,
        ),
    ),
    # recommended lists: the office's; a bank's staff answer for their allocated enterprises;
    # the demo receiver takes no sign-in but a signature (none here: 400 for everyone)
    "reclists": (
        "get",
        "/api/v1/recommended-lists/",
        None,
        expect(403, anonymous=API_DENIED, **OFFICE),
    ),
    "reclist_create": (
        "post",
        "/api/v1/recommended-lists/",
        {
            "criteria": "{criteria}",
            "title": "测试清单",
            "period_start": "2026-10-01",
            "period_end": "2026-12-31",
        },
        expect(403, anonymous=API_DENIED, **dict.fromkeys(OFFICE, 201)),
    ),
    "reclist_criteria": (
        "get",
        "/api/v1/recommended-lists/criteria/",
        None,
        expect(403, anonymous=API_DENIED, **OFFICE),
    ),
    "reclist_criteria_create": (
        "post",
        "/api/v1/recommended-lists/criteria/",
        {"name": "新条件", "min_grade": "A"},
        expect(403, anonymous=API_DENIED, **dict.fromkeys(OFFICE, 201)),
    ),
    "reclist_detail": (
        "get",
        "/api/v1/recommended-lists/{reclist}/",
        None,
        expect(403, anonymous=API_DENIED, **OFFICE),
    ),
    "reclist_entries": (
        "get",
        "/api/v1/recommended-lists/{reclist}/entries/?removed=all",
        None,
        expect(403, anonymous=API_DENIED, **OFFICE),
    ),
    "reclist_approve": (
        "post",
        "/api/v1/recommended-lists/{reclist}/approve/",
        None,
        expect(403, anonymous=API_DENIED, **dict.fromkeys(OFFICE, 409)),
    ),
    "reclist_push": (
        "post",
        "/api/v1/recommended-lists/{reclist}/push/",
        None,
        expect(403, anonymous=API_DENIED, **OFFICE),
    ),
    "reclist_allocate": (
        "post",
        "/api/v1/recommended-lists/{reclist}/allocate/",
        {"banks": []},
        expect(403, anonymous=API_DENIED, **dict.fromkeys(OFFICE, 400)),
    ),
    "reclist_entry_remove": (
        "post",
        "/api/v1/recommended-lists/{reclist}/entries/{reclist_entry}/remove/",
        {"reason": "核查"},
        expect(403, anonymous=API_DENIED, **dict.fromkeys(OFFICE, 409)),
    ),
    "reclist_allocated": (
        "get",
        "/api/v1/recommended-lists/allocated/",
        None,
        expect(403, anonymous=API_DENIED, **BANKS),
    ),
    "reclist_feedback": (
        "post",
        "/api/v1/recommended-lists/allocated/{reclist_entry}/contact/",
        None,
        expect(403, anonymous=API_DENIED, **BANKS),
    ),
    "other_reclist_feedback": (
        "post",
        "/api/v1/recommended-lists/allocated/{other_reclist_entry}/contact/",
        None,
        expect(403, anonymous=API_DENIED, bank_admin=404, bank_officer=404),
    ),
    "national_receive_unsigned": (
        "post",
        "/api/v1/national/receive/",
        {"rows": []},
        expect(400, anonymous=400),
    ),
}
ENDPOINTS["claim_approve"][3]["anonymous"] = API_DENIED
ENDPOINTS["claim_reject"][3]["anonymous"] = API_DENIED
ENDPOINTS["bank_create"][3]["anonymous"] = API_DENIED


@pytest.fixture
def world(
    enterprise: Any, other_enterprise: Any, bank: Any, branch: Any, request: Any
) -> dict[str, Any]:
    import random

    from banks.models import BankInvitation
    from enterprises import uscc
    from enterprises.models import EnterpriseInvitation
    from tests.factories import BankFactory, UserFactory, make_bank_member, make_enterprise_member

    claimant = UserFactory.create(email="claimant@example.com")
    member = make_enterprise_member(
        UserFactory.create(email="m2@example.com"), enterprise, "member"
    )
    inviter = UserFactory.create(email="inviter@example.com")
    expires = timezone.now() + timedelta(days=1)
    ent_invitation = EnterpriseInvitation.objects.create(
        enterprise=enterprise,
        email="x@example.com",
        role="member",
        invited_by=inviter,
        expires_at=expires,
    )
    bank_invitation = BankInvitation.objects.create(
        bank=bank, email="y@example.com", role="officer", invited_by=inviter, expires_at=expires
    )
    claim = EnterpriseClaim.objects.create(
        user=claimant,
        enterprise=other_enterprise,
        submitted_name=other_enterprise.name,
        submitted_legal_rep_name=other_enterprise.legal_rep_name,
    )
    authorization = authorization_for(enterprise, bank, inviter)
    other_authorization = authorization_for(
        other_enterprise, BankFactory.create(name="第三家银行"), inviter
    )
    product = listed_product_of(bank)
    handler = UserFactory.create(email="handler@example.com")
    make_bank_member(handler, bank, "officer")
    return {
        "uscc": enterprise.uscc,
        "other_uscc": other_enterprise.uscc,
        "claim": claim.pk,
        "bank": bank.pk,
        "member": member.pk,
        "ent_token": ent_invitation.token,
        "bank_token": bank_invitation.token,
        "batch": ImportBatch.objects.create(source_department="某局", channel="file").pk,
        "new_bank_uscc": uscc.generate(random.Random(5)),
        "authorization": authorization.pk,
        "other_authorization": other_authorization.pk,
        "product": product,
        "other_product": listed_product_of(BankFactory.create(name="第四家银行")),
        "application": application_of(enterprise, authorization, inviter, product=product).pk,
        "handled_application": application_of(
            enterprise,
            authorization,
            inviter,
            product=product,
            status="accepted",
            officer=handler,
            accepted_at=timezone.now(),
        ).pk,
        "other_demand": application_of(other_enterprise, other_authorization, inviter).pk,
        **reclist_world(enterprise, other_enterprise, bank, inviter),
        "invitation": invitation_of(enterprise, product, handler).pk,
    }


def invitation_of(enterprise: Any, product: int, invited_by: Any) -> Any:
    """A pending invitation of the world's bank to the world's enterprise."""
    from banks.models import LoanProduct
    from lending.models import MatchInvitation

    found = LoanProduct.objects.get(pk=product)
    return MatchInvitation.objects.create(
        product=found,
        bank_id=found.bank_id,
        enterprise=enterprise,
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(days=14),
    )


def reclist_world(
    enterprise: Any, other_enterprise: Any, bank: Any, creator: Any
) -> dict[str, int]:
    """An approved recommended list (written directly) with the world's enterprise allocated to
    the world's bank, and the other enterprise allocated to a bank of nobody in the world."""
    from lending.lists import new_number
    from lending.models import RecommendationCriteria, RecommendationEntry, RecommendationList
    from tests.factories import BankFactory

    criteria = RecommendationCriteria.objects.create(name="世界条件", created_by=creator)
    today = timezone.localdate()
    reclist = RecommendationList.objects.create(
        number=new_number(),
        title="世界清单",
        criteria=criteria,
        period_start=today - timedelta(days=30),
        period_end=today,
        status="approved",
        entry_count=2,
        created_by=creator,
        approved_at=timezone.now(),
    )

    def entry(seq: int, firm: Any, to: Any) -> RecommendationEntry:
        return RecommendationEntry.objects.create(
            list=reclist,
            seq=seq,
            enterprise=firm,
            uscc=firm.uscc,
            name=firm.name,
            grade="A",
            score=900,
            need="opt_in",
            opt_in="all",
            bank=to,
            allocated_at=timezone.now(),
        )

    mine = entry(1, enterprise, bank)
    other = entry(2, other_enterprise, BankFactory.create(name="第五家银行"))
    return {
        "criteria": criteria.pk,
        "reclist": reclist.pk,
        "reclist_entry": mine.pk,
        "other_reclist_entry": other.pk,
    }


def authorization_for(enterprise: Any, bank: Any, granted_by: Any) -> Authorization:
    """Not yet in force (from tomorrow), so the bank's reads in the rows above stay refused;
    it can still be seen, revoked and renewed."""
    from enterprises.authorization import new_number, terms_digest

    now = timezone.now()
    authorization = Authorization(
        number=new_number(),
        enterprise=enterprise,
        grantee_bank=bank,
        scope="portrait",
        purpose="pre_loan",
        valid_from=now + timedelta(days=1),
        valid_until=now + timedelta(days=365),
        granted_by=granted_by,
        granted_at=now,
    )
    authorization.digest = terms_digest(authorization)
    authorization.save()
    return authorization


def listed_product_of(bank: Any) -> int:
    """A product of `bank`, published and listed in the marketplace."""
    from decimal import Decimal

    from banks import products
    from tests.factories import UserFactory, make_bank_member
    from xinyidai.core.models import PlatformRole

    staff = UserFactory.create()
    make_bank_member(staff, bank, "officer")
    office = UserFactory.create(platform_role=PlatformRole.CREDIT_OFFICE)
    product = products.product_create(
        actor=staff,
        code="WORLD-1",
        terms={
            "name": "示范信用贷",
            "kind": "credit",
            "guarantee_methods": ["credit"],
            "amount_min": Decimal("100000"),
            "amount_max": Decimal("3000000"),
            "rate_min": Decimal("3.45"),
            "rate_max": Decimal("4.2"),
            "term_min": 6,
            "term_max": 36,
            "repayment_methods": ["interest_first"],
            "min_years": 3,
        },
    )
    products.product_move(actor=staff, product_id=product.pk, move="submit")
    products.product_move(actor=office, product_id=product.pk, move="publish")
    return product.pk


def application_of(
    enterprise: Any,
    authorization: Authorization,
    submitted_by: Any,
    product: int | None = None,
    **extra: Any,
) -> LoanApplication:
    """A loan application under the service levels, written directly: the service would refuse
    this world's enterprise (it fits no product). With `product`, an application to it under
    `authorization`; without, a financing demand in the pool offered to the authorised bank."""
    from decimal import Decimal

    from banks.models import LoanProduct
    from lending import sla
    from lending.models import DemandOffer
    from lending.services import new_number

    assert authorization.grantee_bank_id is not None
    application = LoanApplication(
        number=new_number(),
        enterprise=enterprise,
        amount=Decimal("500000"),
        term_months=12,
        purpose="采购原材料",
        submitted_by=submitted_by,
        **extra,
    )
    if product is not None:
        application.kind = "product"
        application.product_version = LoanProduct.objects.get(pk=product).live_version
        application.bank_id = authorization.grantee_bank_id
        application.authorization = authorization
        application.repayment_method = "interest_first"
    else:
        application.kind = "demand"
    sla.set_dues(application, sla.dues_from(application.submitted_at))
    application.save()
    if product is None:
        DemandOffer.objects.create(
            application=application,
            bank_id=authorization.grantee_bank_id,
            authorization=authorization,
            granted_for_demand=False,
        )
    return application


def client_for(role: str, request: Any, login: Any) -> Client:
    if role == "anonymous":
        return Client()
    return login(request.getfixturevalue(role))


def fill(template: str, world: dict[str, Any]) -> str:
    return template.format(**world)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", list(PAGES))
def test_page_access(page: str, role: str, world: dict[str, Any], request: Any, login: Any) -> None:
    path, table = PAGES[page]
    response = client_for(role, request, login).get(fill(path, world))
    assert response.status_code == table[role], (page, role, response.status_code)
    if table[role] == LOGIN and role == "anonymous":
        final = client_for(role, request, login).get(fill(path, world), follow=True)
        assert final.request["PATH_INFO"] == reverse("account_login")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(POST_PAGES))
def test_page_action_access(
    action: str, role: str, world: dict[str, Any], request: Any, login: Any
) -> None:
    from enterprises.models import EnterpriseMembership

    path, table = POST_PAGES[action]
    data = {"decision": "approve", "reason": "ok"}
    response = client_for(role, request, login).post(fill(path, world), data)
    assert response.status_code == table[role], (action, role, response.status_code)
    claim = EnterpriseClaim.objects.get(pk=world["claim"])
    member_exists = EnterpriseMembership.objects.filter(pk=world["member"]).exists()
    if action == "claim_withdraw":
        assert claim.status == "pending"
    if action == "claim_decide":
        assert claim.status == ("approved" if role == "credit_office" else "pending")
    if action == "member_remove":
        assert member_exists is (role != "enterprise_owner")
    granter = role in ("enterprise_owner", "enterprise_admin")
    status = Authorization.objects.get(pk=world["authorization"]).status
    assert status == ("revoked" if action == "authorization_revoke" and granter else "active")
    assert Authorization.objects.get(pk=world["other_authorization"]).status == "active"
    assert Authorization.objects.count() == 2  # nothing renewed
    accepted = action == "application_accept" and role in BANKS
    withdrawn = action == "application_withdraw" and granter
    assert dict(LoanApplication.objects.values_list("pk", "status")) == {
        world["application"]: "accepted" if accepted else "withdrawn" if withdrawn else "submitted",
        world["handled_application"]: "accepted",
        world["other_demand"]: "submitted",
    }
    if action == "ledger_verify_now":
        assert LedgerCheck.objects.count() == (1 if role == "credit_office" else 0)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_endpoint_access(
    endpoint: str, role: str, world: dict[str, Any], request: Any, login: Any
) -> None:
    method, path, data, table = ENDPOINTS[endpoint]
    client = client_for(role, request, login)
    body = {k: fill(v, world) if isinstance(v, str) else v for k, v in (data or {}).items()}
    response = (
        getattr(client, method)(fill(path, world), body, content_type="application/json")
        if (method == "post")
        else client.get(fill(path, world))
    )
    assert response.status_code == table[role], (endpoint, role, response.content[:300])
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "detail"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", None),
        ("plain_user", set()),
        ("enterprise_owner", {"own"}),
        ("enterprise_member", {"own"}),
        ("bank_officer", set()),
        ("bank_admin", set()),
        ("trading_centre", set()),
        ("credit_office", {"own", "other"}),
    ],
)
def test_enterprise_list_starts_from_tenant(
    role: str, expected: set[str] | None, world: dict[str, Any], request: Any, login: Any
) -> None:
    response = client_for(role, request, login).get("/api/v1/enterprises/")
    if expected is None:
        assert response.status_code == 403
        return
    names = {world["uscc"]: "own", world["other_uscc"]: "other"}
    assert {names[e["uscc"]] for e in response.json()["results"]} == expected


def test_claim_list_shows_only_own_claims(
    world: dict[str, Any], plain_user: Any, login: Any
) -> None:
    assert login(plain_user).get("/api/v1/claims/").json()["results"] == []


@pytest.mark.parametrize("role", [r for r in ROLES if r not in ("anonymous", "superuser")])
def test_admin_login_refuses_signed_in_non_staff(role: str, request: Any, login: Any) -> None:
    response = client_for(role, request, login).get("/admin/", follow=True)
    assert response.status_code == 403
