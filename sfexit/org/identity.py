"""Who and where we are logged in (``whoami``) and the org's limits (``limits``)."""

from __future__ import annotations

from dataclasses import dataclass

from sfexit.org import soql
from sfexit.org.rest import Limit, RestClient
from sfexit.org.session import OrgSession

# Shown first by `sfexit limits`: the ones an export and an offboarding spend.
KEY_LIMITS = ("DailyApiRequests", "DailyBulkV2QueryJobs", "DailyBulkV2QueryFileStorageMB",
              "DailyBulkApiBatches")


@dataclass(frozen=True)
class WhoAmI:
    org_id: str
    org_name: str
    edition: str | None
    is_sandbox: bool
    instance_url: str
    api_version: str
    username: str
    user_id: str
    profile: str | None


def whoami(session: OrgSession) -> WhoAmI:
    """Org and user of this session. Raises AuthError, SalesforceError."""
    rest = RestClient(session)
    me = rest.identity()
    org = rest.organization()
    query = soql.select("User", ["Id", "Username", "Profile.Name"],
                        where=[soql.condition("Id", "=", me.user_id)], limit=1)
    rows = list(rest.query_iter(query))
    user = rows[0] if rows else {}
    profile = (user.get("Profile") or {}).get("Name") if isinstance(user.get("Profile"),
                                                                      dict) else None
    return WhoAmI(org_id=org.org_id, org_name=org.name, edition=org.edition,
                  is_sandbox=org.is_sandbox, instance_url=session.instance_url,
                  api_version=session.api_version,
                  username=user.get("Username") or me.username, user_id=me.user_id,
                  profile=profile)


def org_limits(session: OrgSession) -> dict[str, Limit]:
    """Every limit of the org, the key ones (KEY_LIMITS) first, then by name."""
    limits = RestClient(session).limits()
    ordered = {name: limits[name] for name in KEY_LIMITS if name in limits}
    ordered.update({name: limit for name, limit in limits.items() if name not in ordered})
    return ordered
