# contracts
