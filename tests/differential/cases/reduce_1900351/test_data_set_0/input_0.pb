Jõ5.Avý+AÍ
AbÊ"Ax>A