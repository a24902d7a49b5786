"""Timed jobs (APScheduler); what they act on always lives in the database."""
