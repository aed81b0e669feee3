"""Renderers: ReportData -> PDF / Excel. They never see raw Graph JSON."""
