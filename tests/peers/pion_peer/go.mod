module pion_peer

go 1.13
