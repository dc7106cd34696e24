"""The pure reassignment plan: order, filters, refusals before any write, skew warnings."""

from __future__ import annotations

from sfexit.people.ownership import (API_NOTES, SKEW_LIMIT, Assignment, OwnedObject, Principal,
                                     StateFilter, plan_ownership, state_filter_for)

DEP = Principal("005DEP", "departing@x.example")
DEP2 = Principal("005DE2", "second@x.example")
SUCC = Principal("005SUC", "successor@x.example")
INACTIVE = Principal("005OLD", "gone@x.example", active=False)
CHATTER = Principal("005CHA", "chatter@x.example", user_type="CsnOnly", licence="Chatter Free")
QUEUE = Principal("00GQUE", "Support Queue", "queue", queue_objects=frozenset({"Case", "Lead"}))


def obj(name: str, *, custom: bool = False, queue: bool = False) -> OwnedObject:
    return OwnedObject(name, custom, queue, None, state_filter_for(name))


OBJECTS = [obj("Project__c", custom=True, queue=True), obj("Task", queue=True), obj("Lead", queue=True),
           obj("Campaign"), obj("Event"), obj("Contract"), obj("Case", queue=True),
           obj("Opportunity"), obj("Contact"), obj("Account")]


def counts(n: int = 5, **extra: int) -> dict[tuple[str, str], int]:
    out = {(o.name, DEP.id): n for o in OBJECTS}
    out.update({(k, SUCC.id): v for k, v in extra.items()})
    return out


def test_steps_follow_the_no_cascade_order_with_their_own_filters() -> None:
    plan = plan_ownership([Assignment(DEP, SUCC)], OBJECTS, counts())
    assert [s.object for s in plan.steps] == ["Account", "Contact", "Opportunity", "Case",
                                             "Contract", "Lead", "Task", "Event", "Campaign",
                                             "Project__c"]
    assert [s.order for s in plan.steps] == list(range(1, 11))
    filters = {s.object: s.filter for s in plan.steps}
    assert filters["Opportunity"] is StateFilter.OPEN
    assert filters["Lead"] is StateFilter.UNCONVERTED
    assert filters["Event"] is StateFilter.FUTURE
    assert filters["Account"] is StateFilter.ALL
    assert plan.total == 50 and not plan.refused
    assert plan.notes == API_NOTES
    assert any("triggers and flows" in n for n in plan.notes)
    assert any("Nothing cascades" in n for n in plan.notes)


def test_objects_with_nothing_to_move_are_no_step() -> None:
    plan = plan_ownership([Assignment(DEP, SUCC)], OBJECTS, {("Lead", DEP.id): 3})
    assert [(s.object, s.count) for s in plan.steps] == [("Lead", 3)]


def test_each_departing_user_has_a_move_with_its_own_count() -> None:
    c = {("Account", DEP.id): 4, ("Account", DEP2.id): 7}
    plan = plan_ownership([Assignment(DEP, SUCC), Assignment(DEP2, SUCC)], [obj("Account")], c)
    (step,) = plan.steps
    assert [(m.source, m.target, m.count) for m in step.moves] == [
        ("departing@x.example", "successor@x.example", 4),
        ("second@x.example", "successor@x.example", 7)]
    assert step.count == 11


def test_inactive_and_chatter_targets_are_refused_before_any_write() -> None:
    plan = plan_ownership([Assignment(DEP, INACTIVE)], OBJECTS, counts())
    assert plan.refused and "INACTIVE_OWNER_OR_USER" in plan.refusals[0]
    plan = plan_ownership([Assignment(DEP, CHATTER)], OBJECTS, counts())
    assert plan.refusals == ("chatter@x.example has a Chatter Free licence, which cannot own "
                             "records (OP_WITH_INVALID_USER_TYPE_EXCEPTION); choose a user with "
                             "a full licence",)


def test_a_queue_is_refused_for_objects_its_queue_does_not_take() -> None:
    plan = plan_ownership([Assignment(DEP, QUEUE)], OBJECTS, counts())
    refused = {r.split(" records")[0].rsplit(" ", 1)[1] for r in plan.refusals}
    # Case and Lead are in QueueSobject; Task and Project__c could be queue-owned but are not
    # listed for this queue; the rest cannot be queue-owned at all.
    assert refused == {"Account", "Contact", "Opportunity", "Contract", "Task", "Event",
                       "Campaign", "Project__c"}


def test_a_queue_is_fine_for_the_objects_it_takes() -> None:
    plan = plan_ownership([Assignment(DEP, QUEUE)], [obj("Case", queue=True), obj("Lead", queue=True)],
                          counts())
    assert not plan.refused and plan.total == 10


def test_an_explicit_object_is_checked_even_when_nothing_would_move() -> None:
    plan = plan_ownership([Assignment(DEP, QUEUE)], [obj("Account")], {},
                          explicit_objects=frozenset({"Account"}))
    assert plan.refused and "does not take Account" in plan.refusals[0]


def test_same_user_both_sides_and_chains_are_refused() -> None:
    assert "to itself" in plan_ownership([Assignment(DEP, DEP)], OBJECTS, counts()).refusals[0]
    chain = plan_ownership([Assignment(DEP, DEP2), Assignment(DEP2, SUCC)], OBJECTS, counts())
    assert any("both gives and receives" in r for r in chain.refusals)
    twice = plan_ownership([Assignment(DEP, SUCC), Assignment(DEP, DEP2)], OBJECTS, counts())
    assert any("mapped to two different owners" in r for r in twice.refusals)
    queue_source = plan_ownership([Assignment(QUEUE, SUCC)], OBJECTS, counts())
    assert any("is a queue; --from takes a user" in r for r in queue_source.refusals)


def test_ownership_skew_warns_when_one_owner_would_hold_over_10000() -> None:
    c = counts(n=4_000, Account=SKEW_LIMIT - 4_000 + 1)
    plan = plan_ownership([Assignment(DEP, SUCC)], OBJECTS, c)
    assert len(plan.warnings) == 1
    assert plan.warnings[0].startswith("successor@x.example would own 10,001 Account records")
    assert "queue or several owners" in plan.warnings[0]
    exactly = plan_ownership([Assignment(DEP, SUCC)], OBJECTS,
                             counts(n=4_000, Account=SKEW_LIMIT - 4_000))
    assert exactly.warnings == ()
