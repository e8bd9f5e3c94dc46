"""MigrationMetrics, ramp plans, analysis, the controller, its state store, reports and the operator
CLI."""
