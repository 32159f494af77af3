format = 1
[vehicle]
make = m
platform = p
[role ajar]
dbc_signal = Trunk.Nope
source = x
grade = B
