"""Objects outlive a commit (``expire_on_commit=False``): where a request waits between a
commit and a decision, it reads the rows again. The federated callback waits for the
upstream, seconds during which another worker may lock the account."""

import sqlalchemy as sa

from connectors.upstream import UpstreamIdentity
from idp.extensions import db
from idp.models import Account, LoginFlow, UpstreamLink
from tests.helpers import form_field, pkce_pair


class SlowUpstream:
    """The upstream connector's interface; while the IdP waits on its answer, ``meanwhile``
    runs (another worker's transaction)."""

    id, label = "slow", "Slow"

    def __init__(self, meanwhile):
        self.meanwhile = meanwhile

    def start(self, request):
        return "http://127.0.0.1:9/authorize"

    def finish(self, args, request):
        self.meanwhile()
        return UpstreamIdentity(issuer="http://127.0.0.1:9", subject="sub-1")


def _link(app, identifier: str) -> int:
    """The account becomes the one the slow upstream's subject logs into; its id."""
    with app.app_context():
        account_id = db.session.execute(db.select(Account.id).filter_by(identifier=identifier)).scalar_one()
        db.session.add(UpstreamLink(issuer="http://127.0.0.1:9", subject="sub-1", account_id=account_id))
        db.session.commit()
    return account_id


def _through_slow_upstream(actors, app, browser, *, before=lambda login: None, meanwhile=lambda login: None):
    """A new login sent to the slow upstream: ``before`` runs once it has gone there,
    ``meanwhile`` while the upstream answers (both get the login page's URL); then the
    callback. Returns the callback's answer and the flow's id."""
    client_id, _ = actors.client()
    _, challenge = pkce_pair()
    login = actors.at(actors.authorize(client_id, challenge))
    flow_id = form_field(browser.get(login).get_data(as_text=True), "flow")
    app.extensions["idp.upstreams"]["slow"] = SlowUpstream(lambda: meanwhile(login))
    assert browser.get(f"/login/upstream/slow?flow={flow_id}").status_code == 302
    before(login)
    with app.app_context():
        state = db.session.execute(db.select(LoginFlow).filter_by(flow_id=flow_id)).scalar_one().state
    return browser.get(f"/login/upstream/callback?state={flow_id}.{state.upstream.state}&code=x"), flow_id


def test_an_account_locked_while_the_upstream_answers_is_seen_locked(actors, app, browser):
    account_id = _link(app, actors.account())
    with app.app_context():
        other = sa.create_engine(db.engine.url)

    def lock_elsewhere(login):
        with other.begin() as connection:
            connection.execute(sa.update(Account).where(Account.id == account_id).values(status="locked"))

    try:
        callback, _ = _through_slow_upstream(actors, app, browser, meanwhile=lock_elsewhere)
    finally:
        other.dispose()
    assert callback.status_code == 403, callback.headers.get("Location")
    assert "Compte bloqué" in callback.get_data(as_text=True)


def test_a_callback_for_a_flow_past_its_password_step_is_refused(actors, app, browser):
    """Account A gives its password (and would give its code) on a flow whose upstream
    login, for account B, is still out: B's callback must not take over A's steps."""
    first = actors.account()
    _link(app, actors.account())

    def first_gives_its_password(login):
        assert actors.submit_login(login, first).headers["Location"].startswith("/login/")

    callback, flow_id = _through_slow_upstream(actors, app, browser, before=first_gives_its_password)

    assert callback.status_code == 400
    with app.app_context():
        flow = db.session.execute(db.select(LoginFlow).filter_by(flow_id=flow_id)).scalar_one()
        assert flow.account.identifier == first and flow.steps_done == ["password"]
        assert flow.state.login_method == "local"


def test_a_password_and_code_given_while_the_upstream_answers_stay_their_account_s(actors, app, browser):
    """The same race, the other way round: account A's password and code are given on the
    flow while B's upstream login is out; B's callback, arriving after, is refused."""
    first = actors.account()
    _link(app, actors.account())

    def first_logs_in(login):
        code_page = actors.submit_login(login, first).headers["Location"]
        assert code_page.startswith("/login/code")
        page = browser.get(code_page)  # the code is sent
        assert actors.post_form(code_page, {"code": actors.last_code()}, page=page).status_code == 302

    callback, flow_id = _through_slow_upstream(actors, app, browser, meanwhile=first_logs_in)

    assert callback.status_code == 400
    with app.app_context():
        flow = db.session.execute(db.select(LoginFlow).filter_by(flow_id=flow_id)).scalar_one()
        assert flow.account.identifier == first and flow.steps_done == ["password", "code"]
        assert flow.state.login_method == "local" and "fed" not in flow.amr
