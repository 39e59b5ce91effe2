"""Who hears of recommended lists: a bank's staff when enterprises are allocated to it, the
credit office when a chunk of the national push is given up."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from lending.models import NationalDelivery, RecommendationList
from lending.notices import bank_staff, credit_office
from xinyidai.core.notifications import in_site_language, notify_users


@in_site_language
def allocated(reclist: RecommendationList, counts: dict[int, int]) -> None:
    """One notice per bank: how many enterprises of the list it was given."""
    for bank_id, n in counts.items():
        notify_users(
            users=bank_staff([bank_id]),
            kind="reclist.allocated",
            title=_("推荐清单 %(number)s 向本行分配了 %(n)d 家企业")
            % {"number": reclist.number, "n": n},
            body=_("请联系企业并反馈对接结果（已联系、已授信及金额、未授信及原因）。"),
            url=reverse("reclist_bank_entries") + f"?list={reclist.pk}",
        )


@in_site_language
def gave_up(reclist: RecommendationList, deliveries: list[NationalDelivery]) -> None:
    """The credit office hears once per list and push run that chunks were given up."""
    if not deliveries:
        return
    notify_users(
        users=credit_office(),
        kind="reclist.push_failed",
        title=_("推荐清单 %(number)s 有 %(n)d 个分片推送国家平台失败")
        % {"number": reclist.number, "n": len(deliveries)},
        body="\n".join(
            _("分片 %(chunk)d：%(error)s") % {"chunk": d.chunk, "error": d.last_error}
            for d in deliveries
        ),
        url=reverse("reclist_detail", args=[reclist.pk]),
    )
