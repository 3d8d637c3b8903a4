"""Differentiated supervision plans (差异化监管计划): monthly plans by grade and key supervision,
assigned by grid, and 双随机 random sampling."""
