format = 1
[vehicle]
make = m
platform = p
[role gear]
dbc_signal = Trunk.Req
source = x
grade = B
