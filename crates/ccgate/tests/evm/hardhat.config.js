// The Hardhat network the EVM tests start (crates/ccgate/tests/e2e/evm.rs)
// where ganache cannot serve: ganache 7 does not honour a same-nonce
// replacement of a pending transaction, Hardhat does. Same mnemonic and
// chain id as the ganache the other tests run.
module.exports = {
  networks: {
    hardhat: {
      chainId: 1337,
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        count: 3,
      },
    },
  },
};
