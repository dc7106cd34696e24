"""Describe facts taken from recorded REST describes where the research schema is silent.

Source: CumulusCI's ``cumulusci/tests/shared_cassettes`` (GET_sobjects_<Object>_describe.yaml
for Account, Contact, Lead, Opportunity, Case, Event; GET_sobjects_Global_describe.yaml),
responses of real orgs (API 48.0–59.0), the same captures research/schema was built from.
"""

from __future__ import annotations

from typing import Any

# Standard fields whose describe says idLookup: true besides Id. A field with idLookup may be a
# standard object's upsert key (SOAP API upsert(): "the idLookup field property for standard
# objects"); custom objects use External ID fields.
ID_LOOKUP = frozenset({("Contact", "Email"), ("Lead", "Email"), ("Opportunity", "Name"),
                       ("Case", "CaseNumber")})

# Field describe keys as recorded where the emulator's general rules give another value.
_ADDRESS_FILTERABLE = {"filterable": True}
_STREET = {"groupable": True}
_NOT_FILTERABLE = {"filterable": False, "sortable": False}
FIELD_OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("Account", "BillingAddress"): _ADDRESS_FILTERABLE, ("Account", "ShippingAddress"): _ADDRESS_FILTERABLE,
    ("Contact", "MailingAddress"): _ADDRESS_FILTERABLE, ("Contact", "OtherAddress"): _ADDRESS_FILTERABLE,
    ("Lead", "Address"): _ADDRESS_FILTERABLE,
    ("Account", "BillingStreet"): _STREET, ("Account", "ShippingStreet"): _STREET,
    ("Contact", "MailingStreet"): _STREET, ("Contact", "OtherStreet"): _STREET, ("Lead", "Street"): _STREET,
    ("Opportunity", "HasOpenActivity"): _NOT_FILTERABLE,
    ("Opportunity", "HasOverdueTask"): _NOT_FILTERABLE,
    ("Account", "JigsawCompanyId"): {"relationshipName": "JigsawCompany"},
    ("Contact", "JigsawContactId"): {"relationshipName": "JigsawContact"},
    ("Lead", "JigsawContactId"): {"relationshipName": "JigsawContact"},
    ("Case", "CaseNumber"): {"groupable": False},
    ("Event", "Subject"): {"groupable": False},
}

# Objects whose describe-global urls have ``listviews`` (the recorded ones with a tab; UNCONF for
# Contract and the demo org's custom objects, which have tabs too).
LISTVIEWS = frozenset({"Account", "Campaign", "Case", "Contact", "Event", "Lead", "Opportunity",
                       "Contract", "Project__c", "Invoice__c"})
# Layoutable objects whose recorded urls differ from the usual set: (left out, added).
URL_EXCEPTIONS: dict[str, tuple[frozenset[str], tuple[tuple[str, str], ...]]] = {
    "User": (frozenset({"approvalLayouts"}),
             (("namedLayouts", "/describe/namedLayouts/{LayoutName}"),
              ("passwordUtilities", "/{ID}/password"))),
    "CampaignMember": (frozenset({"approvalLayouts", "quickActions"}), ()),
    "UserRole": (frozenset({"compactLayouts"}), ()),
    "Case": (frozenset(), (("caseArticleSuggestions", "/suggestedArticles"),
                           ("caseRowArticleSuggestions", "/{ID}/suggestedArticles"))),
}
