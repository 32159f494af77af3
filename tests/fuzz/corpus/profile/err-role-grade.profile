format = 1
[vehicle]
make = m
platform = p
[role speed]
dbc_signal = A.B
map = 1:fast
source = x
grade = D
