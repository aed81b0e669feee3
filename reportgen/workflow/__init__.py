"""The consultant's workflow around a report: review state and versions, the consultant's
commentary and overrides, and the action plan the client answers month after month.

Stage-wise it sits between assessment and rendering: it reads typed results and the client's
returned answers, and hands the renderers a ``WorkflowData``. Nothing here touches the network.
"""
from reportgen.workflow.actions import Action, Answer, build_plan, overdue_count
from reportgen.workflow.review import Decision, decide, next_review, stored_review

__all__ = ["Action", "Answer", "Decision", "build_plan", "decide", "next_review", "overdue_count",
           "stored_review"]
