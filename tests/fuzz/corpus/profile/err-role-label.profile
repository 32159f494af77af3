format = 1
[vehicle]
make = m
platform = p
[role ajar]
dbc_signal = A.B
map = 1:ajar
source = x
grade = A
