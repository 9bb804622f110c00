"""feedback: the department's reply and the citizen's rating."""
