format = 1
[vehicle]
make = m
platform = p
[role trunk_ajar]
dbc_signal = A.B
source = x
grade = A
