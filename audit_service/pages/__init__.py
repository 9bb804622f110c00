"""The auditor's pages: an appeal's timeline told as sentences, and the department ranking
with what each figure means. Jinja2 templates (audit_service/templates), in Chinese first and
in English (`language`), each fact told by `sentences` from the catalogue of its language."""
