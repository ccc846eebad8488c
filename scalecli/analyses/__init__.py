"""Analyses over fitted laws and runs: one module per question (allocation, isoflop, ranking,
backtest, ...), each returning a self-describing result that the report layer renders."""
