// fabric-contract-api logs each decorator at info level; tests want readable output.
process.env.CORE_CHAINCODE_LOGGING_LEVEL = process.env.CORE_CHAINCODE_LOGGING_LEVEL || 'critical';
