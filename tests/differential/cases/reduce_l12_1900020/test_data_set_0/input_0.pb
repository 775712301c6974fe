J‚œ
Aÿ€ A3B9AëkAñUA