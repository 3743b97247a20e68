"""The safety lead's dashboard: intake volume, queue age and, once the rules area stores
them, open cases by their next due date (each bar a link to those cases in the queue) and the
on-time submission rate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, g, render_template, url_for
from markupsafe import Markup

from safety.accounts.roles import Permission
from safety.review.dashboard import (
    cases_by_due,
    on_time_rate,
    questions_to_sites,
    queue_age,
    received_per_week,
)
from safety.web.charts import bar_chart
from safety.web.security import require

bp = Blueprint("web_dashboard", __name__)

@bp.get("/dashboard")
@require(Permission.VIEW_CASES)
def dashboard() -> Any:
    zone = current_app.config["SAFETY"].zone
    today = datetime.now(zone).date()
    charts = [Markup(bar_chart(received_per_week(g.db, today, zone),
                               title="Cases received per week (week starting)")),
              Markup(bar_chart(queue_age(g.db, today, zone),
                               title="Open cases by age since first receipt",
                               highlight={">30 d"}))]
    due = cases_by_due(g.db, today)
    if due is not None:
        charts.append(Markup(bar_chart(
            [(b.label, float(b.count)) for b in due],
            title="Open cases by next reporting due date (days from today)",
            highlight={"overdue"},
            links={b.label: url_for("web_cases.queue", **b.query) for b in due})))
    rate = on_time_rate(g.db)
    return render_template("web/dashboard.html", charts=charts, rate=rate,
                           questions=questions_to_sites(g.db, today))
