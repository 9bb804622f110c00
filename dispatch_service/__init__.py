"""dispatch: routes appeals to departments and runs the work order."""
