"""An enterprise's equipment ledger (台账): special equipment and its inspections, gas
cylinders, operators and their certificates."""
